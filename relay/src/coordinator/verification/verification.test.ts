import type { JobSpec } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { type BlobStore, createMemoryBlobStore } from '../../blobs/blob-store.ts'
import { createSqliteStore } from '../../store/sqlite-store.ts'
import type { Coordinator } from '../coordinator.ts'
import { float32Output } from '../in-process-inputs.ts'
import {
  caps,
  fakeClock,
  honest,
  make,
  matrices,
  submitHonest,
} from '../testing/coordinator-fixture.ts'

// Verification through the coordinator: Freivalds and shape checks that reject a result, a
// repeated result, votes among replicas and credibility, task errors, and replicas that must
// come from distinct wallets and addresses. Canaries: canaries.test.ts.

describe('coordinator: matmul jobs', () => {
  it('rejects a wrong tile, gives the task to someone else, bans on the second fault and forfeits pending credit', async () => {
    const c = make({ tileSize: 2, banAfterFaults: 2 })
    const job = c.submitMatmul(matrices(4, 4, 4))
    c.registerContributor('bad', caps)
    c.registerContributor('good', caps)
    const first = c.lease('bad')!
    expect(submitHonest(c, 'bad', first).outcome).toBe('accepted')
    expect((await c.account('peer:bad')).pending).toBeGreaterThan(0n)
    const second = c.lease('bad')!
    const wrong = honest(c, second)
    wrong[0]! += 1
    const outcome = c.submitResult('bad', second.leaseId, [float32Output(wrong, [2, 2])])
    expect(outcome.outcome).toBe('rejected')
    expect(outcome.reason).toMatch(/Freivalds/)
    expect((await c.account('peer:bad')).pending).toBe(0n)
    const third = c.lease('bad')!
    expect(third.taskId).not.toBe(second.taskId)
    const garbage = new Float32Array(4).fill(Number.NaN)
    expect(c.submitResult('bad', third.leaseId, [float32Output(garbage, [2, 2])]).outcome).toBe(
      'rejected',
    )
    expect(c.lease('bad')).toBeUndefined()
    expect(() => c.registerContributor('bad', caps)).toThrow(/banned/)
    for (let grant = c.lease('good'); grant; grant = c.lease('good')) submitHonest(c, 'good', grant)
    const done = await c.getJob(job.id)
    expect(done.status).toBe('completed')
    expect(done.tasks.rejectedResults).toBe(2)
    expect((await c.account('peer:bad')).earned).toBe(0n)
    expect(c.stats().gauges.bannedContributors).toBe(1)
  })

  it('rejects an output of the wrong shape', () => {
    const c = make({ tileSize: 8 })
    c.submitMatmul(matrices(4, 4, 4))
    c.registerContributor('p', caps)
    const grant = c.lease('p')!
    const outcome = c.submitResult('p', grant.leaseId, [
      float32Output(new Float32Array(15), [3, 5]),
    ])
    expect(outcome).toEqual({
      outcome: 'rejected',
      reason: 'outputs float32[3, 5] are not float32[4, 4]',
    })
  })

  it('accepts a repeated result once and pays it once', async () => {
    const c = make({ tileSize: 2 })
    const job = c.submitMatmul(matrices(4, 2, 4))
    c.registerContributor('p', caps)
    const grant = c.lease('p')!
    expect(submitHonest(c, 'p', grant).outcome).toBe('accepted')
    expect(submitHonest(c, 'p', grant)).toEqual({ outcome: 'accepted', reason: 'already accepted' })
    expect(BigInt((await c.getJob(job.id)).credits.spent)).toBe(
      BigInt((await c.getJob(job.id)).credits.budget) / 4n,
    )
    expect((await c.account('peer:p')).pending).toBe(BigInt((await c.getJob(job.id)).credits.spent))
  })
})

describe('coordinator: custom kernels and credibility', () => {
  const program = {
    wgsl: '@compute @workgroup_size(1) fn main() {}',
    inputs: [{ name: 'x', dtype: 'float32' as const }],
    outputs: [{ name: 'y', dtype: 'float32' as const }],
  }

  it('accepts a custom task once enough credible contributors agree, and faults the odd one out', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs, assumedFaultRate: 0.2, targetErrorRate: 1e-2, maxReplicas: 8 })
    const x = blobs.put(new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer)).hash
    const job = await c.submit(
      {
        kernel: 'custom',
        program,
        tasks: [
          {
            inputs: [{ blob: x, dtype: 'float32', shape: [4] }],
            outputs: [{ shape: [4], dtype: 'float32' }],
            workgroups: [4, 1, 1],
          },
        ],
        verification: { canaries: 0, maxErrorRate: 1e-2 },
      },
      { account: 'r' },
    )
    const right = new Uint8Array(new Float32Array([2, 4, 6, 8]).buffer)
    const wrong = new Uint8Array(new Float32Array([2, 4, 6, 9]).buffer)
    const outcomes: string[] = []
    for (const [peer, bytes] of [
      ['h1', right],
      ['s1', wrong],
      ['h2', right],
      ['h3', right],
      ['h4', right],
      ['h5', right],
    ] as const) {
      c.registerContributor(peer, {
        capabilities: caps,
        address: `10.0.${peer.charCodeAt(0)}.${peer.charCodeAt(1)}`,
      })
      const grant = c.lease(peer)
      if (grant == null) break
      expect(grant.program.kind).toBe('wgsl')
      expect(grant.workgroups).toEqual([4, 1, 1])
      // The input is the uploaded blob, named by its own hash: no range, no copy.
      expect(grant.inputs).toEqual([
        { name: expect.any(String), dtype: 'float32', shape: [4], sha256: x, byteLength: 16 },
      ])
      outcomes.push(
        c.submitResult(peer, grant.leaseId, [{ shape: [4], dtype: 'float32', bytes }]).outcome,
      )
    }
    // 0.8-credible newcomers: five agreeing against one dissenter reach 1 − 1e-2 (four: 0.981).
    expect(outcomes).toEqual(['pending', 'pending', 'pending', 'pending', 'pending', 'accepted'])
    const done = await c.getJob(job.id)
    expect(done.status).toBe('completed')
    const [result] = (await c.results(job.id)).results
    expect(result?.method).toBe('replication')
    expect(blobs.get(result!.outputs[0]!.blob)).toEqual(right)
    expect((await c.account('peer:s1')).earned).toBe(0n)
    expect((await c.account('peer:h1')).earned).toBeGreaterThan(0n)
  })

  it('by default accepts two agreeing newcomers (BOINC), and fails a job whose task errors twice', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs })
    const x = blobs.put(new Uint8Array(4)).hash
    const task = {
      inputs: [{ blob: x, dtype: 'float32' as const, shape: [1] }],
      outputs: [{ shape: [1], dtype: 'float32' as const }],
      workgroups: [1, 1, 1] as [number, number, number],
    }
    const job = await c.submit({ kernel: 'custom', program, tasks: [task] }, { account: 'r' })
    c.registerContributor('p', caps)
    c.registerContributor('q', caps)
    const out = [{ shape: [1], dtype: 'float32' as const, bytes: new Uint8Array(4) }]
    expect(c.submitResult('p', c.lease('p')!.leaseId, out).outcome).toBe('pending')
    expect(c.submitResult('q', c.lease('q')!.leaseId, out).outcome).toBe('accepted')
    expect((await c.getJob(job.id)).status).toBe('completed')

    const broken = await c.submit({ kernel: 'custom', program, tasks: [task] }, { account: 'r' })
    expect(
      c.reportTaskError('p', c.lease('p')!.leaseId, 'KernelCompileError', 'oops').outcome,
    ).toBe('rejected')
    expect((await c.getJob(broken.id)).status).toBe('running')
    c.reportTaskError('q', c.lease('q')!.leaseId, 'KernelCompileError', 'oops')
    const failed = await c.getJob(broken.id)
    expect(failed.status).toBe('failed')
    expect(failed.error).toMatch(
      /task 0 failed on 2 distinct contributors: KernelCompileError: oops/,
    )
    expect(failed.credits.refunded).toBe(failed.credits.budget)
  })

  it('builds credibility only from independent checks: agreeing votes earn none, Freivalds passes do', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs, tileSize: 2, spotCheckRate: 0 })
    const f32 = (v: number[]) => new Uint8Array(new Float32Array(v).buffer)
    const x = blobs.put(f32([1])).hash
    const task = {
      inputs: [{ blob: x, dtype: 'float32' as const, shape: [1] }],
      outputs: [{ shape: [1], dtype: 'float32' as const }],
      workgroups: [1, 1, 1] as [number, number, number],
    }
    // At 1 − 0.05, three agreeing newcomers suffice (0.984); a contributor with 2 verified
    // results (credibility 0.954) suffices alone.
    const custom = (tasks: number) =>
      c.submit(
        {
          kernel: 'custom',
          program,
          tasks: Array.from({ length: tasks }, () => task),
          verification: { canaries: 0, maxErrorRate: 0.05 },
        },
        { account: 'r' },
      )
    for (const [peer, address] of [
      ['p', '10.0.0.1'],
      ['q', '10.0.0.2'],
      ['r', '10.0.0.3'],
    ] as const)
      c.registerContributor(peer, { capabilities: caps, address })
    const out = [{ shape: [1], dtype: 'float32' as const, bytes: f32([2]) }]
    const voted = await custom(3)
    for (let round = 0; round < 10; round++)
      for (const peer of ['p', 'q', 'r']) {
        const grant = c.lease(peer)
        if (grant != null) c.submitResult(peer, grant.leaseId, out)
      }
    expect((await c.getJob(voted.id)).status).toBe('completed')
    expect((await c.results(voted.id)).results.map((r) => r.method)).toEqual([
      'replication',
      'replication',
      'replication',
    ])
    // Three agreements each are no evidence: colluders agree too. p still needs company.
    const alone = await custom(1)
    expect(c.submitResult('p', c.lease('p')!.leaseId, out).outcome).toBe('pending')
    await c.cancel(alone.id)

    // Two matmul tiles that pass Freivalds are evidence: now p's result stands alone.
    c.submitMatmul(matrices(2, 2, 4))
    for (let i = 0; i < 2; i++) expect(submitHonest(c, 'p', c.lease('p')!).outcome).toBe('accepted')
    const trusted = await custom(1)
    expect(c.submitResult('p', c.lease('p')!.leaseId, out).outcome).toBe('accepted')
    // Accepted on p's word alone, so before the job settles a second distinct contributor
    // must agree (backtracking's settlement check): then it stands on two.
    expect((await c.getJob(trusted.id)).status).toBe('running')
    expect((await c.results(trusted.id)).results).toEqual([])
    expect(c.lease('p')).toBeUndefined()
    expect(c.submitResult('q', c.lease('q')!.leaseId, out).outcome).toBe('accepted')
    expect((await c.getJob(trusted.id)).status).toBe('completed')
    expect((await c.results(trusted.id)).results[0]?.method).toBe('replication')
  })

  it('prices the replication its policy needs, so a default-budget maxErrorRate job completes', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs })
    const x = blobs.put(new Uint8Array(new Float32Array([1]).buffer)).hash
    const spec: JobSpec = {
      kernel: 'custom',
      program,
      tasks: [0, 1, 2].map(() => ({
        inputs: [{ blob: x, dtype: 'float32' as const, shape: [1] }],
        outputs: [{ shape: [1], dtype: 'float32' as const }],
        workgroups: [1, 1, 1] as [number, number, number],
      })),
      verification: { canaries: 0, maxErrorRate: 1e-4 },
    }
    // Newcomers at 0.8 credibility: seven must agree to reach 1 − 1e-4, and each is paid.
    const quote = await c.quote(spec)
    expect(quote.credits).toBe(String(3 * 7))
    expect(
      (await c.quote({ ...spec, verification: { canaries: 0, replication: 3 } })).credits,
    ).toBe('9')
    expect((await c.quote({ ...spec, verification: { canaries: 0 } })).credits).toBe('6')
    const job = await c.submit(spec, { account: 'r' })
    const out = [
      {
        shape: [1],
        dtype: 'float32' as const,
        bytes: new Uint8Array(new Float32Array([2]).buffer),
      },
    ]
    for (let i = 0; i < 40; i++) {
      const peer = `h${i}`
      c.registerContributor(peer, { capabilities: caps, address: `10.4.${i}.1` })
      const grant = c.lease(peer)
      if (grant != null) c.submitResult(peer, grant.leaseId, out)
    }
    const done = await c.getJob(job.id)
    expect(done.status, done.error).toBe('completed')
    expect(done.credits).toMatchObject({ budget: '21', spent: '21', refunded: '0' })
  })

  it('never gives two replicas of a task to the same wallet or network address', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs })
    const x = blobs.put(new Uint8Array(4)).hash
    await c.submit(
      {
        kernel: 'custom',
        program,
        tasks: [
          {
            inputs: [{ blob: x, dtype: 'float32', shape: [1] }],
            outputs: [{ shape: [1], dtype: 'float32' }],
            workgroups: [1, 1, 1],
          },
        ],
      },
      { account: 'r' },
    )
    c.registerContributor('a', { capabilities: caps, address: '10.0.0.1' })
    c.registerContributor('b', { capabilities: caps, address: '10.0.0.1' })
    c.registerContributor('w1', {
      capabilities: caps,
      wallet: { address: '0xAbC0000000000000000000000000000000000001' },
    })
    c.registerContributor('w2', {
      capabilities: caps,
      wallet: { address: '0xabc0000000000000000000000000000000000001' },
    })
    const first = c.lease('a')!
    c.submitResult('a', first.leaseId, [{ shape: [1], dtype: 'float32', bytes: new Uint8Array(4) }])
    expect(c.lease('b')).toBeUndefined()
    const third = c.lease('w1')!
    c.submitResult('w1', third.leaseId, [
      { shape: [1], dtype: 'float32', bytes: new Uint8Array(4) },
    ])
    expect(c.lease('w2')).toBeUndefined()
  })
})

describe('coordinator: task errors', () => {
  const program = {
    wgsl: '@compute @workgroup_size(1) fn main() {}',
    inputs: [{ name: 'x', dtype: 'float32' as const }],
    outputs: [{ name: 'y', dtype: 'float32' as const }],
  }

  it('fails a job only when distinct contributors report its task, and costs the honest reporters nothing', async () => {
    const blobs = createMemoryBlobStore()
    const store = createSqliteStore({ path: ':memory:' })
    store.putContributor({
      id: 'evil',
      payee: '0x00000000000000000000000000000000000000Ee',
      verified: 10,
      faults: 0,
      banned: false,
      lastSeen: 0,
    })
    const c = make({ blobs, store })
    const x = blobs.put(new Uint8Array(4)).hash
    const job = await c.submit(
      {
        kernel: 'custom',
        program,
        tasks: [
          {
            inputs: [{ blob: x, dtype: 'float32', shape: [1] }],
            outputs: [{ shape: [1], dtype: 'float32' }],
            workgroups: [1, 1, 1],
          },
        ],
      },
      { account: 'r' },
    )
    const wallet = { address: '0x00000000000000000000000000000000000000ee' }
    c.registerContributor('evil', { capabilities: caps, wallet, address: '10.6.0.1' })
    const report = (peer: string) =>
      c.reportTaskError(peer, c.lease(peer)!.leaseId, 'KernelCompileError', 'says who').outcome
    expect(report('evil')).toBe('rejected')
    // The reporter does not get the task again, so it cannot report it twice ...
    expect(c.lease('evil')).toBeUndefined()
    // ... and its other peer ids, on its wallet or its address, are the same reporter.
    c.registerContributor('evil-2', { capabilities: caps, wallet, address: '10.6.0.2' })
    c.registerContributor('evil-3', { capabilities: caps, address: '10.6.0.1' })
    expect(c.lease('evil-2')).toBeUndefined()
    expect(report('evil-3')).toBe('rejected')
    expect((await c.getJob(job.id)).status).toBe('running')
    // A second, distinct contributor hits the same error: now it lies with the job.
    c.registerContributor('other', { capabilities: caps, address: '10.7.0.1' })
    expect(report('other')).toBe('rejected')
    const failed = await c.getJob(job.id)
    expect(failed.status).toBe('failed')
    expect(failed.error).toMatch(/failed on 2 distinct contributors: KernelCompileError/)
    // The kernel was at fault, not those who ran it (issue 9): no fault, no lost evidence.
    // Credibility is written once per event-loop turn.
    await new Promise((resolve) => setImmediate(resolve))
    expect(store.getContributor('evil')).toMatchObject({ verified: 10, faults: 0, banned: false })
    c.close()
  })

  it('costs a reporter credibility only once its task is accepted from someone else', async () => {
    const blobs = createMemoryBlobStore()
    const store = createSqliteStore({ path: ':memory:' })
    for (const id of ['liar', 'honest']) {
      store.putContributor({ id, payee: id, verified: 10, faults: 0, banned: false, lastSeen: 0 })
    }
    const c = make({ blobs, store })
    const x = blobs.put(new Uint8Array(4)).hash
    const job = await c.submit(
      {
        kernel: 'custom',
        program,
        tasks: [
          {
            inputs: [{ blob: x, dtype: 'float32', shape: [1] }],
            outputs: [{ shape: [1], dtype: 'float32' }],
            workgroups: [1, 1, 1],
          },
        ],
        verification: { replication: 1, spotCheck: 0, canaries: 0 },
      },
      { account: 'r' },
    )
    c.registerContributor('liar', { capabilities: caps, address: '10.6.0.1' })
    c.registerContributor('honest', { capabilities: caps, address: '10.7.0.1' })
    const lease = c.lease('liar')!
    expect(c.reportTaskError('liar', lease.leaseId, 'KernelTimeoutError', 'says who').outcome).toBe(
      'rejected',
    )
    await new Promise((resolve) => setImmediate(resolve))
    expect(store.getContributor('liar')).toMatchObject({ verified: 10, faults: 0 })
    const honest = c.lease('honest')!
    const outputs = [{ shape: [1], dtype: 'float32' as const, bytes: new Uint8Array(4) }]
    expect(c.submitResult('honest', honest.leaseId, outputs).outcome).toBe('accepted')
    expect((await c.getJob(job.id)).status).toBe('completed')
    await new Promise((resolve) => setImmediate(resolve))
    expect(store.getContributor('liar')).toMatchObject({ verified: 5, faults: 0, banned: false })
    c.close()
  })
})

describe('coordinator: distinct replicas', () => {
  const program = {
    wgsl: '@compute @workgroup_size(1) fn main() {}',
    inputs: [{ name: 'x', dtype: 'float32' as const }],
    outputs: [{ name: 'y', dtype: 'float32' as const }],
  }
  const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer)
  const wrong = [{ shape: [1], dtype: 'float32' as const, bytes: f32([999]) }]

  async function oneTask(c: Coordinator, blobs: BlobStore) {
    return c.submit(
      {
        kernel: 'custom',
        program,
        tasks: [
          {
            inputs: [{ blob: blobs.put(f32([1])).hash, dtype: 'float32', shape: [1] }],
            outputs: [{ shape: [1], dtype: 'float32' }],
            workgroups: [1, 1, 1],
          },
        ],
        verification: { canaries: 0 },
      },
      { account: 'r' },
    )
  }

  it('gives no speculative duplicate to a peer sharing the holder’s wallet or address', async () => {
    const blobs = createMemoryBlobStore()
    const clock = fakeClock()
    const c = make({ blobs, clock, speculateAfterMs: 1_000 })
    const job = await oneTask(c, blobs)
    const wallet = { address: '0x00000000000000000000000000000000000000aa' }
    c.registerContributor('s1', { capabilities: caps, wallet, address: '10.9.9.9' })
    c.registerContributor('s2', { capabilities: caps, wallet, address: '10.9.9.8' })
    c.registerContributor('s3', { capabilities: caps, address: '10.9.9.9' })
    c.registerContributor('fair', { capabilities: caps, address: '10.8.8.8' })
    const first = c.lease('s1')!
    clock.advance(2_000)
    // Neither the same wallet nor the same address may hold the tail duplicate ...
    expect(c.lease('s2')).toBeUndefined()
    expect(c.lease('s3')).toBeUndefined()
    // ... someone else may.
    expect(c.lease('fair')?.taskId).toBe(first.taskId)
    expect(c.submitResult('s1', first.leaseId, wrong).outcome).toBe('pending')
    expect((await c.getJob(job.id)).status).toBe('running')
  })

  it('counts a result once per wallet and address even when the holder moved after its lease', async () => {
    const blobs = createMemoryBlobStore()
    const clock = fakeClock()
    const c = make({ blobs, clock, speculateAfterMs: 1_000 })
    const job = await oneTask(c, blobs)
    c.registerContributor('s1', { capabilities: caps, address: '10.9.9.9' })
    c.registerContributor('s2', { capabilities: caps, address: '10.7.7.7' })
    const first = c.lease('s1')!
    clock.advance(2_000)
    const duplicate = c.lease('s2')!
    expect(duplicate.taskId).toBe(first.taskId)
    // s2 reconnects from s1's address before answering: its answer is no second opinion.
    c.registerContributor('s2', { capabilities: caps, address: '10.9.9.9' })
    expect(c.submitResult('s1', first.leaseId, wrong).outcome).toBe('pending')
    expect(c.submitResult('s2', duplicate.leaseId, wrong)).toMatchObject({
      outcome: 'stale',
      reason: expect.stringMatching(/same peer, wallet or network address/),
    })
    expect((await c.getJob(job.id)).status).toBe('running')
    expect((await c.account('peer:s1')).pending).toBe(0n)
  })
})
