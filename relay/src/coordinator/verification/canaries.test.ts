import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type BlobStore, createMemoryBlobStore } from '../../blobs/blob-store.ts'
import { createDiskBlobStore } from '../../blobs/disk-blob-store.ts'
import { createTieredBlobStore } from '../../blobs/tiered-blob-store.ts'
import { createSqliteStore } from '../../store/sqlite-store.ts'
import type { Coordinator } from '../coordinator.ts'
import type { LeaseGrant } from '../coordinator-api.ts'
import { grantInputs } from '../in-process-inputs.ts'
import { caps, dirs, make, removeDirs } from '../testing/coordinator-fixture.ts'

// Canaries through the coordinator: accepted tasks re-issued with their known answer, who may
// get one, what one costs to pick and to check, and replication lowered by credibility.

afterEach(removeDirs)

describe('coordinator: canaries and adaptive replication', () => {
  const program = {
    wgsl: '@compute @workgroup_size(1) fn main() {}',
    inputs: [{ name: 'x', dtype: 'float32' as const }],
    outputs: [{ name: 'y', dtype: 'float32' as const }],
  }
  const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer)

  async function customJob(c: Coordinator, blobs: BlobStore, tasks: number, canaries: number) {
    return c.submit(
      {
        kernel: 'custom',
        program,
        tasks: Array.from({ length: tasks }, (_, i) => ({
          inputs: [{ blob: blobs.put(f32([i])).hash, dtype: 'float32' as const, shape: [1] }],
          outputs: [{ shape: [1], dtype: 'float32' as const }],
          workgroups: [1, 1, 1] as [number, number, number],
        })),
        verification: { canaries, replication: 2 },
      },
      { account: 'r' },
    )
  }

  it('re-issues an accepted task as a canary, and faults a contributor whose answer differs', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs, random: () => 0, banAfterFaults: 1 })
    await customJob(c, blobs, 2, 1)
    for (const [peer, address] of [
      ['a', '10.0.0.1'],
      ['b', '10.0.0.2'],
      ['cheat', '10.0.0.3'],
    ] as const)
      c.registerContributor(peer, { capabilities: caps, address })
    const answer = (grant: LeaseGrant) =>
      f32([2 * new Float32Array(new Uint8Array(grantInputs(c, grant)[0]!).buffer)[0]!])
    // a takes t0 and b takes t1 (both wait for a second opinion), then a answers t1 too:
    // t1 is accepted and its answer is known.
    const submit = (peer: string, grant: LeaseGrant, bytes = answer(grant)) =>
      c.submitResult(peer, grant.leaseId, [{ shape: [1], dtype: 'float32', bytes }]).outcome
    expect(submit('a', c.lease('a')!)).toBe('pending')
    const t1 = c.lease('b')!
    expect(submit('b', t1)).toBe('pending')
    const again = c.lease('a')!
    expect(again.taskId).toBe(t1.taskId)
    expect(submit('a', again)).toBe('accepted')
    const first = t1
    // With the canary rate at 1, the next lease is the known task under a fresh id (its
    // own would give it away), and a wrong answer is caught.
    const canary = c.lease('cheat')!
    expect(canary.taskId).not.toBe(first.taskId)
    expect(canary.taskId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{16}$/)
    expect(canary.taskId.length).toBe(first.taskId.length)
    expect(canary.inputs[0]!.sha256).toBe(first.inputs[0]!.sha256)
    const outcome = c.submitResult('cheat', canary.leaseId, [
      { shape: [1], dtype: 'float32', bytes: f32([99]) },
    ])
    expect(outcome).toEqual({
      outcome: 'rejected',
      reason: 'result does not match the verified answer',
    })
    expect(c.lease('cheat')).toBeUndefined()
    // Those who answered the task never get it as a canary: a holds t0's replica and answered
    // t1, so there is nothing for it.
    expect(c.lease('a')).toBeUndefined()
    // A right answer is paid like any result: into pending credit, from the job's escrow.
    c.registerContributor('d', { capabilities: caps, address: '10.0.0.4' })
    const second = c.lease('d')!
    expect(second.taskId).not.toBe(first.taskId)
    expect(second.taskId).not.toBe(canary.taskId)
    expect(submit('d', second)).toBe('accepted')
    const job = (await c.listJobs()).jobs[0]!
    expect((await c.account('peer:d')).pending).toBe(BigInt(job.credits.spent) / 3n)
    expect((await c.account('peer:d')).balance).toBe(0n)
    expect(c.stats().counters.canariesIssued).toBe(2)
  })

  it('pays nothing for a canary its known answer can no longer check: the blob gone, or the contributor now one of those who gave it', async () => {
    const memory = createMemoryBlobStore()
    const gone = new Set<string>()
    const blobs: BlobStore = {
      put: (bytes) => memory.put(bytes),
      putStream: (source, options) => memory.putStream(source, options),
      get: (hash) => (gone.has(hash) ? undefined : memory.get(hash)),
      open: (hash) => memory.open(hash),
      has: (hash) => !gone.has(hash) && memory.has(hash),
      get bytesUsed() {
        return memory.bytesUsed
      },
    }
    const c = make({ blobs, random: () => 0, banAfterFaults: 1 })
    const job = await customJob(c, blobs, 2, 1)
    for (const [peer, address] of [
      ['a', '10.0.0.1'],
      ['b', '10.0.0.2'],
      ['x', '10.0.0.3'],
      ['y', '10.0.0.4'],
    ] as const)
      c.registerContributor(peer, { capabilities: caps, address })
    const submit = (peer: string, grant: LeaseGrant, bytes: Uint8Array) =>
      c.submitResult(peer, grant.leaseId, [{ shape: [1], dtype: 'float32', bytes }])
    // t0 waits for a second opinion; t1 is accepted, answered by a and b.
    expect(submit('a', c.lease('a')!, f32([0])).outcome).toBe('pending')
    expect(submit('b', c.lease('b')!, f32([2])).outcome).toBe('pending')
    expect(submit('a', c.lease('a')!, f32([2])).outcome).toBe('accepted')
    const [accepted] = (await c.results(job.id)).results
    const spent = (await c.getJob(job.id)).credits.spent
    // x's canary is checked against nothing once x shares an address with a, who answered.
    const toX = c.lease('x')!
    c.registerContributor('x', { capabilities: caps, address: '10.0.0.1' })
    // y's canary: the answer's blob is gone by the time y answers.
    const toY = c.lease('y')!
    gone.add(accepted!.outputs[0]!.blob)
    for (const [peer, grant] of [
      ['x', toX],
      ['y', toY],
    ] as const) {
      expect(submit(peer, grant, f32([99]))).toEqual({
        outcome: 'stale',
        reason: 'the known answer cannot check this result any more',
      })
      expect((await c.account(`peer:${peer}`)).pending).toBe(0n)
    }
    expect((await c.getJob(job.id)).credits.spent).toBe(spent)
  })

  it('picks a canary with no I/O: no result row and no blob is read to lease one', async () => {
    const memory = createMemoryBlobStore()
    let reads = 0
    const blobs: BlobStore = {
      put: (bytes) => memory.put(bytes),
      putStream: (source, options) => memory.putStream(source, options),
      get: (hash) => {
        reads++
        return memory.get(hash)
      },
      open: (hash) => memory.open(hash),
      has: (hash) => memory.has(hash),
      get bytesUsed() {
        return memory.bytesUsed
      },
    }
    const inner = createSqliteStore({ path: ':memory:' })
    let rowReads = 0
    const store = {
      ...inner,
      resultsOfTask: (jobId: string, index: number) => {
        rowReads++
        return inner.resultsOfTask(jobId, index)
      },
    }
    const c = make({ blobs, store, random: () => 0 })
    await customJob(c, blobs, 2, 1)
    for (const [peer, address] of [
      ['a', '10.0.0.1'],
      ['b', '10.0.0.2'],
      ['x', '10.0.0.3'],
    ] as const)
      c.registerContributor(peer, { capabilities: caps, address })
    const submit = (peer: string, grant: LeaseGrant, bytes: Uint8Array) =>
      c.submitResult(peer, grant.leaseId, [{ shape: [1], dtype: 'float32', bytes }]).outcome
    expect(submit('a', c.lease('a')!, f32([0]))).toBe('pending')
    expect(submit('b', c.lease('b')!, f32([2]))).toBe('pending')
    expect(submit('a', c.lease('a')!, f32([2]))).toBe('accepted')
    reads = 0
    const canary = c.lease('x')!
    expect(c.stats().counters.canariesIssued).toBe(1)
    expect([reads, rowReads]).toEqual([0, 0])
    // The check itself reads the answer.
    expect(submit('x', canary, f32([2]))).toBe('accepted')
    expect(reads).toBeGreaterThan(0)
    expect(rowReads).toBe(0)
  })

  it('after a restart, sends no winner of an earlier task its own answer as a canary, not even one the result row does not name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coordinator-'))
    dirs.push(dir)
    const open = () => {
      const store = createSqliteStore({ path: join(dir, 'coordinator.db') })
      const blobs = createTieredBlobStore({
        store,
        large: createDiskBlobStore({ dir: join(dir, 'blobs') }),
      })
      return { c: make({ store, blobs, random: () => 0 }), blobs }
    }
    const first = open()
    await customJob(first.c, first.blobs, 2, 1)
    const join2 = (c: Coordinator) => {
      for (const [peer, address] of [
        ['a', '10.0.0.1'],
        ['b', '10.0.0.2'],
      ] as const)
        c.registerContributor(peer, { capabilities: caps, address })
    }
    join2(first.c)
    const submit = (c: Coordinator, peer: string, grant: LeaseGrant, bytes: Uint8Array) =>
      c.submitResult(peer, grant.leaseId, [{ shape: [1], dtype: 'float32', bytes }]).outcome
    // t1 is accepted with a and b agreeing; t0 waits for a second opinion, lost at the restart.
    expect(submit(first.c, 'a', first.c.lease('a')!, f32([0]))).toBe('pending')
    expect(submit(first.c, 'b', first.c.lease('b')!, f32([2]))).toBe('pending')
    expect(submit(first.c, 'a', first.c.lease('a')!, f32([2]))).toBe('accepted')
    await first.c.durable()
    first.c.close()

    const second = open()
    join2(second.c)
    // The row names one of the two winners. Neither gets t1 back as a canary: one gets t0,
    // the task still to do, and the other nothing.
    const grants = [second.c.lease('a'), second.c.lease('b')].filter((g) => g != null)
    expect(grants).toHaveLength(1)
    expect(second.c.stats().counters.canariesIssued).toBe(0)
    // Someone paid nothing on the job does.
    second.c.registerContributor('z', { capabilities: caps, address: '10.0.0.9' })
    const canary = second.c.lease('z')!
    expect(second.c.stats().counters.canariesIssued).toBe(1)
    expect(submit(second.c, 'z', canary, f32([2]))).toBe('accepted')
    second.c.close()
  })

  it('lowers replication as a contributor earns credibility: a long-verified result stands alone', async () => {
    const blobs = createMemoryBlobStore()
    const store = createSqliteStore({ path: ':memory:' })
    store.putContributor({
      id: 'veteran',
      payee: 'peer:veteran',
      verified: 100_000,
      faults: 0,
      banned: false,
      lastSeen: 0,
    })
    const c = make({ blobs, store })
    const x = blobs.put(f32([1])).hash
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
        verification: { canaries: 0 },
      },
      { account: 'r' },
    )
    c.registerContributor('veteran', caps)
    const grant = c.lease('veteran')!
    expect(
      c.submitResult('veteran', grant.leaseId, [{ shape: [1], dtype: 'float32', bytes: f32([2]) }])
        .outcome,
    ).toBe('accepted')
    // Its last trusted acceptance is confirmed by a second distinct contributor before the
    // job settles; until then readers do not see it.
    expect((await c.results(job.id)).results).toEqual([])
    c.registerContributor('second', caps)
    const check = c.lease('second')!
    expect(
      c.submitResult('second', check.leaseId, [{ shape: [1], dtype: 'float32', bytes: f32([2]) }])
        .outcome,
    ).toBe('accepted')
    expect((await c.getJob(job.id)).status).toBe('completed')
    expect((await c.results(job.id)).results[0]?.method).toBe('replication')
  })
})
