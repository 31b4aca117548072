import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Capabilities, JobSpec } from '@tabswarm/protocol'
import { matmulReference } from '@tabswarm/worker-kernels'
import { afterEach, describe, expect, it } from 'vitest'
import { type BlobStore, createMemoryBlobStore } from '../blobs/blob-store.ts'
import { createDiskBlobStore } from '../blobs/disk-blob-store.ts'
import { createTieredBlobStore } from '../blobs/tiered-blob-store.ts'
import { silentLogger } from '../log.ts'
import { createSqliteStore } from '../store/sqlite-store.ts'
import { type Coordinator, type CoordinatorOptions, createCoordinator } from './coordinator.ts'
import type { JobEvent, LeaseGrant } from './coordinator-api.ts'
import { float32Output, grantInputs, matmulOperands } from './in-process-inputs.ts'

const caps: Capabilities = {
  adapter: { vendor: 'test', architecture: 'test', device: '', description: '' },
  features: [],
  limits: {},
  kernels: ['matmul', 'custom'],
  agent: 'test',
}

function fakeClock(start = 1_000) {
  let now = start
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms
    },
  }
}

function matrices(m: number, k: number, n: number) {
  const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 11) - 5)
  const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 3) % 7) - 3)
  return { a, b, m, k, n }
}

/** The right product of a matmul lease, from its inputs read by hash. */
function honest(c: Coordinator, grant: LeaseGrant): Float32Array {
  const { a, b, m, k, n } = matmulOperands(c, grant)
  return matmulReference(a, b, m, k, n)
}

/** A matmul lease's tile: its m, k and n. */
function tileOf(grant: LeaseGrant) {
  if (grant.program.kind !== 'matmul') throw new Error(`lease ${grant.leaseId} is not matmul`)
  return grant.program
}

function submitHonest(c: Coordinator, peer: string, grant: LeaseGrant) {
  return c.submitResult(peer, grant.leaseId, [
    float32Output(honest(c, grant), [tileOf(grant).m, tileOf(grant).n]),
  ])
}

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function make(options: CoordinatorOptions = {}) {
  return createCoordinator({ welcomeCredits: 1e9, ...options })
}

describe('coordinator: matmul jobs', () => {
  it('tiles a matmul, accepts Freivalds-verified tiles, assembles the product and pays the contributor', async () => {
    // No sampled spot checks, so the methods below are certain.
    const c = make({ tileSize: 4, spotCheckRate: 0 })
    const spec = matrices(10, 3, 7)
    const job = c.submitMatmul(spec, { account: 'alice' })
    expect(job.tasks.total).toBe(3 * 2)
    c.registerContributor('p1', caps)
    for (let grant = c.lease('p1'); grant; grant = c.lease('p1'))
      expect(submitHonest(c, 'p1', grant).outcome).toBe('accepted')
    const done = await c.getJob(job.id)
    expect(done.status).toBe('completed')
    expect(await c.jobOutput(job.id)).toEqual(matmulReference(spec.a, spec.b, 10, 3, 7))
    const contributor = await c.account('peer:p1')
    expect(contributor.earned).toBe(done.credits.spent)
    expect(contributor.balance).toBe(done.credits.spent)
    const alice = await c.account('alice')
    expect(alice.balance).toBe(1e9 - done.credits.spent)
    expect(done.credits.refunded).toBe(done.credits.budget - done.credits.spent)
    const page = await c.results(job.id, { after: 0, limit: 4 })
    expect(page.results.map((r) => r.seq)).toEqual([1, 2, 3, 4])
    // A newcomer's first result is recomputed in full; then Freivalds alone.
    expect(page.results.map((r) => r.method)).toEqual([
      'spot-check',
      'freivalds',
      'freivalds',
      'freivalds',
    ])
    const rest = await c.results(job.id, { after: page.cursor })
    expect(rest.results).toHaveLength(2)
    expect(rest.done).toBe(true)
  })

  it('rejects a wrong tile, gives the task to someone else, bans on the second fault and forfeits pending credit', async () => {
    const c = make({ tileSize: 2, banAfterFaults: 2 })
    const job = c.submitMatmul(matrices(4, 4, 4))
    c.registerContributor('bad', caps)
    c.registerContributor('good', caps)
    const first = c.lease('bad')!
    expect(submitHonest(c, 'bad', first).outcome).toBe('accepted')
    expect((await c.account('peer:bad')).pending).toBeGreaterThan(0)
    const second = c.lease('bad')!
    const wrong = honest(c, second)
    wrong[0]! += 1
    const outcome = c.submitResult('bad', second.leaseId, [float32Output(wrong, [2, 2])])
    expect(outcome.outcome).toBe('rejected')
    expect(outcome.reason).toMatch(/Freivalds/)
    expect((await c.account('peer:bad')).pending).toBe(0)
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
    expect((await c.account('peer:bad')).earned).toBe(0)
    expect(c.stats().gauges.bannedContributors).toBe(1)
  })

  it('logs faults, bans and the end of a job as structured lines', async () => {
    const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = []
    const record =
      (level: string) =>
      (msg: string, fields: Record<string, unknown> = {}) =>
        lines.push({ level, msg, fields })
    const log = {
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
      child: () => log,
    }
    const c = make({ tileSize: 2, log })
    const job = c.submitMatmul(matrices(4, 2, 4))
    c.registerContributor('bad', { capabilities: caps, address: '10.9.0.1' })
    for (let i = 0; i < 2; i++) {
      const grant = c.lease('bad')!
      c.submitResult('bad', grant.leaseId, [float32Output(new Float32Array(4).fill(9), [2, 2])])
    }
    c.registerContributor('good', caps)
    for (let grant = c.lease('good'); grant; grant = c.lease('good')) submitHonest(c, 'good', grant)
    await c.getJob(job.id)
    expect(lines.filter((l) => l.msg === 'fault')).toEqual([
      expect.objectContaining({
        level: 'warn',
        fields: expect.objectContaining({
          peer: 'bad',
          address: '10.9.0.1',
          faults: 1,
          job: job.id,
        }),
      }),
      expect.objectContaining({ fields: expect.objectContaining({ faults: 2 }) }),
    ])
    expect(lines.filter((l) => l.msg === 'banned').map((l) => l.fields.ban)).toEqual(['peer:bad'])
    expect(lines.find((l) => l.msg === 'job completed')).toMatchObject({
      level: 'info',
      fields: { job: job.id, tasks: 4, accepted: 4, rejectedResults: 2 },
    })
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

  it('returns an expired lease to the queue, refuses the late result, and lets a renewal keep it', async () => {
    const clock = fakeClock()
    const c = make({ tileSize: 8, clock, leaseMs: 1_000 })
    const job = c.submitMatmul(matrices(4, 4, 4))
    c.registerContributor('slow', caps)
    c.registerContributor('fast', caps)
    const kept = c.lease('slow')!
    clock.advance(900)
    expect(c.renewLease('slow', kept.leaseId)?.expiresInMs).toBe(1_000)
    clock.advance(900)
    expect(c.reclaimExpiredLeases()).toBe(0)
    clock.advance(200)
    expect(c.reclaimExpiredLeases()).toBe(1)
    expect(c.renewLease('slow', kept.leaseId)).toBeUndefined()
    const retry = c.lease('fast')!
    expect(retry.taskId).toBe(kept.taskId)
    expect(submitHonest(c, 'slow', kept).outcome).toBe('stale')
    expect(submitHonest(c, 'fast', retry).outcome).toBe('accepted')
    expect((await c.getJob(job.id)).status).toBe('completed')
  })

  it('refuses the release of a lease whose time is up, as renewing would', () => {
    const clock = fakeClock()
    const c = make({ tileSize: 2, clock, leaseMs: 1_000 })
    c.submitMatmul(matrices(4, 2, 4))
    c.registerContributor('late', caps)
    const grant = c.lease('late')!
    clock.advance(1_000)
    expect(() => c.releaseLease('late', grant.leaseId)).toThrow(/holds no live lease/)
    expect(c.renewLease('late', grant.leaseId)).toBeUndefined()
  })

  it('takes a released lease back at once, without a fault or a task error, and refuses a release of a lease not held', async () => {
    const clock = fakeClock()
    const c = make({ tileSize: 2, clock, leaseMs: 60_000 })
    const job = c.submitMatmul(matrices(4, 2, 4))
    c.registerContributor('leaver', caps)
    c.registerContributor('other', caps)
    const held = c.lease('leaver')!
    expect(() => c.releaseLease('other', held.leaseId)).toThrow(
      expect.objectContaining({ name: 'CoordinatorError', code: 'LEASE_NOT_HELD' }),
    )
    c.releaseLease('leaver', held.leaseId)
    // Not a day later when the lease would expire: the next lease is the released task.
    const next = c.lease('other')!
    expect(next.taskId).toBe(held.taskId)
    expect(c.stats().counters.bans).toBe(0)
    expect(() => c.releaseLease('leaver', held.leaseId)).toThrow(/holds no live lease/)
    expect(() => c.releaseLease('leaver', 'no-such-lease')).toThrow(
      expect.objectContaining({ code: 'LEASE_NOT_HELD' }),
    )
    // The leaver stays a contributor in good standing: it may lease again and be paid.
    const again = c.lease('leaver')!
    expect(submitHonest(c, 'leaver', again).outcome).toBe('accepted')
    expect(submitHonest(c, 'other', next).outcome).toBe('accepted')
    for (let g = c.lease('leaver'); g; g = c.lease('leaver')) submitHonest(c, 'leaver', g)
    const done = await c.getJob(job.id)
    expect(done.status).toBe('completed')
    expect(done.tasks.rejectedResults).toBe(0)
    expect((await c.account('peer:leaver')).earned).toBeGreaterThan(0)
    expect(c.stats().gauges.activeLeases).toBe(0)
  })

  it('lets one peer hold at most maxLeasesPerPeer tasks at once', () => {
    const c = make({ tileSize: 1, maxLeasesPerPeer: 3 })
    c.submitMatmul(matrices(4, 1, 4))
    c.registerContributor('hoarder', caps)
    c.registerContributor('other', caps)
    const held = [c.lease('hoarder'), c.lease('hoarder'), c.lease('hoarder')]
    expect(held.every((g) => g != null)).toBe(true)
    expect(c.lease('hoarder')).toBeUndefined()
    expect(c.lease('other')).toBeDefined()
    submitHonest(c, 'hoarder', held[0]!)
    expect(c.lease('hoarder')).toBeDefined()
  })

  it('accepts a repeated result once and pays it once', async () => {
    const c = make({ tileSize: 2 })
    const job = c.submitMatmul(matrices(4, 2, 4))
    c.registerContributor('p', caps)
    const grant = c.lease('p')!
    expect(submitHonest(c, 'p', grant).outcome).toBe('accepted')
    expect(submitHonest(c, 'p', grant)).toEqual({ outcome: 'accepted', reason: 'already accepted' })
    expect((await c.getJob(job.id)).credits.spent).toBe((await c.getJob(job.id)).credits.budget / 4)
    expect((await c.account('peer:p')).pending).toBe((await c.getJob(job.id)).credits.spent)
  })

  it('hands a slow tail task to a second contributor and takes whichever result comes first', async () => {
    const clock = fakeClock()
    const c = make({ tileSize: 8, clock, speculateAfterMs: 500, leaseMs: 60_000 })
    const job = c.submitMatmul(matrices(4, 4, 4))
    c.registerContributor('stuck', caps)
    c.registerContributor('spare', caps)
    const stuck = c.lease('stuck')!
    expect(c.lease('spare')).toBeUndefined()
    clock.advance(600)
    const duplicate = c.lease('spare')!
    expect(duplicate.taskId).toBe(stuck.taskId)
    expect(submitHonest(c, 'spare', duplicate).outcome).toBe('accepted')
    expect((await c.getJob(job.id)).status).toBe('completed')
    expect(submitHonest(c, 'stuck', stuck).outcome).toBe('stale')
  })
})

describe('coordinator: faults follow the wallet and the address, not the peer id', () => {
  const wrongTile = (c: Coordinator, peer: string) => {
    const grant = c.lease(peer)
    if (grant == null) return 'no lease'
    return c.submitResult(peer, grant.leaseId, [float32Output(new Float32Array(4).fill(7), [2, 2])])
      .outcome
  }

  it('bans a wallet whose faults come through fresh peer ids, and every peer under it', async () => {
    const c = make({ tileSize: 2, banAfterFaults: 2 })
    c.submitMatmul(matrices(8, 2, 8))
    const wallet = { address: '0x00000000000000000000000000000000000000bb' }
    // A peer of the wallet already connected, in good standing so far.
    c.registerContributor('quiet', { capabilities: caps, wallet, address: '10.3.99.1' })
    expect(wrongTile(c, 'x0')).toBe('no lease')
    c.registerContributor('x0', { capabilities: caps, wallet, address: '10.3.0.1' })
    expect(wrongTile(c, 'x0')).toBe('rejected')
    c.registerContributor('x1', { capabilities: caps, wallet, address: '10.3.1.1' })
    expect(wrongTile(c, 'x1')).toBe('rejected')
    // Two faults of the wallet: it is banned whatever peer id or address comes next.
    expect(() =>
      c.registerContributor('x2', { capabilities: caps, wallet, address: '10.3.2.1' }),
    ).toThrow(expect.objectContaining({ code: 'CONTRIBUTOR_BANNED' }))
    expect(() =>
      c.registerContributor('x3', {
        capabilities: caps,
        wallet: { address: wallet.address.toUpperCase().replace('0X', '0x') },
      }),
    ).toThrow(/banned .*wallet/)
    expect(c.lease('quiet')).toBeUndefined()
    expect(() => c.registerContributor('quiet', { capabilities: caps })).toThrow(/banned/)
    // Someone else, elsewhere, is unaffected.
    c.registerContributor('fine', { capabilities: caps, address: '10.4.0.1' })
    expect(c.lease('fine')).toBeDefined()
  })

  it('bans a network address whose faults come through fresh peer ids and wallets', async () => {
    const c = make({ tileSize: 2, banAfterFaults: 2, banAddressAfterFaults: 3 })
    c.submitMatmul(matrices(8, 2, 8))
    const join = (i: number, address: string) =>
      c.registerContributor(`y${i}`, {
        capabilities: caps,
        wallet: { address: `0x${(0xc0 + i).toString(16).padStart(40, '0')}` },
        address,
      })
    for (let i = 0; i < 3; i++) {
      join(i, '203.0.113.9')
      expect(wrongTile(c, `y${i}`)).toBe('rejected')
    }
    expect(() => join(3, '203.0.113.9')).toThrow(/banned .*address/)
    // An IPv6 /64 is one address.
    for (let i = 4; i < 7; i++) {
      join(i, `2001:db8:7:7::${i}`)
      expect(wrongTile(c, `y${i}`)).toBe('rejected')
    }
    expect(() => join(7, '2001:db8:7:7:ffff::1')).toThrow(/banned .*address/)
    // Two addresses, and the six peer ids connected under them, each counted.
    expect(c.stats().counters.bans).toBe(8)
    expect(c.stats().gauges.bannedContributors).toBe(8)
  })

  it('bans the peer id of a contributor whose fault bans only its address, so it cannot come back from elsewhere', async () => {
    const lines: Array<{ msg: string; fields: Record<string, unknown> }> = []
    const log = {
      ...silentLogger,
      warn: (msg: string, fields: Record<string, unknown> = {}) => lines.push({ msg, fields }),
    }
    // One fault bans the address; a peer id needs five.
    const c = make({ tileSize: 2, banAfterFaults: 5, banAddressAfterFaults: 1, log })
    c.submitMatmul(matrices(8, 2, 8))
    c.registerContributor('nat-a', { capabilities: caps, address: '198.51.100.7' })
    c.registerContributor('nat-b', { capabilities: caps, address: '198.51.100.7' })
    expect(wrongTile(c, 'nat-a')).toBe('rejected')
    // From another address, the faulty peer is refused with a reason, not silently starved.
    expect(() =>
      c.registerContributor('nat-a', { capabilities: caps, address: '192.0.2.1' }),
    ).toThrow(expect.objectContaining({ code: 'CONTRIBUTOR_BANNED' }))
    expect(() =>
      c.registerContributor('nat-b', { capabilities: caps, address: '192.0.2.2' }),
    ).toThrow(/banned .*peer/)
    expect(c.stats().counters.bans).toBe(3)
    const banned = lines.filter((l) => l.msg === 'banned').map((l) => l.fields.ban)
    expect(banned.sort()).toEqual(['address:198.51.100.7', 'peer:nat-a', 'peer:nat-b'])
  })
})

describe('coordinator: jobs, credits and scheduling', () => {
  function blobSpec(
    blobs: BlobStore,
    m: number,
    k: number,
    n: number,
    extra: Partial<JobSpec> = {},
  ) {
    const { a, b } = matrices(m, k, n)
    const put = (x: Float32Array) => blobs.put(new Uint8Array(x.buffer)).hash
    return {
      kernel: 'matmul',
      inputs: {
        a: { blob: put(a), dtype: 'float32', shape: [m, k] },
        b: { blob: put(b), dtype: 'float32', shape: [k, n] },
      },
      ...extra,
    } as JobSpec
  }

  it('quotes, escrows, refuses what the account cannot pay, and refunds on cancel', async () => {
    const blobs = createMemoryBlobStore()
    const c = createCoordinator({ blobs, tileSize: 2 })
    const spec = blobSpec(blobs, 4, 8, 4)
    const quote = await c.quote(spec)
    expect(quote).toEqual({ flops: 2 * 4 * 8 * 4, tasks: 4, credits: 4 })
    await expect(c.submit(spec, { account: 'bob' })).rejects.toThrow(
      /has 0 credits, the job needs 4/,
    )
    await c.grant('bob', 10)
    const job = await c.submit(spec, { account: 'bob' })
    expect(await c.account('bob')).toMatchObject({ balance: 6, escrowed: 4 })
    await expect(c.cancel(job.id, { account: 'eve' })).rejects.toThrow(/another account/)
    const cancelled = await c.cancel(job.id, { account: 'bob' })
    expect(cancelled.status).toBe('cancelled')
    expect(await c.account('bob')).toMatchObject({ balance: 10, escrowed: 0 })
  })

  it('names a wallet account the same whatever the casing of its address', async () => {
    const c = make({ tileSize: 4 })
    c.registerContributor('w', {
      capabilities: caps,
      wallet: { address: '0xAbCdEf0000000000000000000000000000000001' },
    })
    c.submitMatmul(matrices(4, 2, 4))
    submitHonest(c, 'w', c.lease('w')!)
    const checksummed = await c.account('0xAbCdEf0000000000000000000000000000000001')
    expect(checksummed.earned).toBeGreaterThan(0)
    expect(checksummed.account).toBe('0xaBCdEf0000000000000000000000000000000001')
    expect(await c.account('0xabcdef0000000000000000000000000000000001')).toEqual(checksummed)
  })

  it('refuses specs that name missing blobs or do not fit, with a message naming the problem', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs })
    const spec = blobSpec(blobs, 4, 4, 4) as Extract<JobSpec, { kernel: 'matmul' }>
    await expect(
      c.submit(
        { ...spec, inputs: { ...spec.inputs, b: { ...spec.inputs.b, blob: 'f'.repeat(64) } } },
        { account: 'x' },
      ),
    ).rejects.toThrow(/inputs.b: no blob f{64}/)
    await expect(
      c.submit(
        { ...spec, inputs: { ...spec.inputs, b: { ...spec.inputs.b, shape: [4, 5] } } },
        { account: 'x' },
      ),
    ).rejects.toThrow(/inputs.b: shape 4x5 float32 needs 80 bytes/)
    await expect(
      c.submit(
        { ...spec, inputs: { ...spec.inputs, b: { ...spec.inputs.b, shape: [3, 4] } } },
        { account: 'x' },
      ),
    ).rejects.toThrow(/inner dimensions differ/)
    await expect(
      c.submit({ ...spec, deadline: '2000-01-01T00:00:00Z' }, { account: 'x' }),
    ).rejects.toThrow(/already passed/)
  })

  it('caps the tasks and the output of a matmul job before allocating either', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs, tileSize: 16 })
    // k = 1 keeps the inputs tiny (32 KiB each) while the product has 2^26 elements.
    const many = blobSpec(blobs, 8192, 1, 8192)
    await expect(c.quote(many)).rejects.toThrow(
      expect.objectContaining({
        code: 'INVALID_JOB',
        message: expect.stringMatching(/^inputs: .* is 262144 tasks, at most 100000 per job/),
      }),
    )
    const huge = {
      a: new Float32Array(16384),
      b: new Float32Array(16384),
      m: 16384,
      k: 1,
      n: 16384,
    }
    expect(() => c.submitMatmul(huge)).toThrow(
      /^inputs: C = A·B would be 16384x16384 = 268435456 elements, at most 67108864/,
    )
    expect((await c.listJobs()).jobs).toHaveLength(0)
  })

  it('sizes tiles from the online contributors’ speed when no tile size is set', () => {
    const c = make()
    for (let i = 0; i < 4; i++) c.registerContributor(`g${i}`, { capabilities: caps, gflops: 20 })
    const [m, k, n] = [2048, 1024, 2048]
    const job = c.submitMatmul({ a: new Float32Array(m * k), b: new Float32Array(k * n), m, k, n })
    // A second's tiles would be one tile for four contributors: shrunk to the 0.2 s floor.
    const { m: rows, n: cols } = tileOf(c.lease('g0')!)
    expect(job.tasks.total).toBeGreaterThan(1)
    expect((2 * rows * cols * k) / 20e9).toBeGreaterThanOrEqual(0.2)
    expect((2 * rows * cols * k) / 20e9).toBeLessThanOrEqual(5)
  })

  it('leases only to devices that list the kernel and can hold the tiles', () => {
    const c = make({ tileSize: 64 })
    // 64-edge tiles over k = 1024: each band is 256 KiB.
    c.submitMatmul(matrices(128, 1024, 128))
    c.registerContributor('custom-only', { ...caps, kernels: ['custom'] })
    c.registerContributor('small', { ...caps, limits: { maxStorageBufferBindingSize: 128 * 1024 } })
    c.registerContributor('fits', { ...caps, limits: { maxStorageBufferBindingSize: 256 * 1024 } })
    expect(c.lease('custom-only')).toBeUndefined()
    expect(c.lease('small')).toBeUndefined()
    expect(c.lease('fits')?.program).toEqual({ kind: 'matmul', m: 64, k: 1024, n: 64 })
  })

  it('shares contributors between jobs in proportion to their priority', () => {
    const blobs = createMemoryBlobStore()
    // One peer takes many leases in a row here, to see which job each comes from.
    const c = make({ blobs, tileSize: 1, maxLeasesPerPeer: Number.POSITIVE_INFINITY })
    const low = c.submitMatmul(matrices(20, 2, 20))
    const high = c.submitMatmul(matrices(20, 2, 20))
    void low
    // Re-submit `high` with priority 3 through the spec path.
    void high
    const prioritised = blobSpec(blobs, 20, 2, 20, { priority: 3 })
    return c.submit(prioritised, { account: 'p' }).then((job) => {
      c.registerContributor('w', caps)
      const served = new Map<string, number>()
      for (let i = 0; i < 500; i++) {
        const grant = c.lease('w')!
        served.set(grant.jobId, (served.get(grant.jobId) ?? 0) + 1)
      }
      const share = served.get(job.id)! / 500
      expect(share).toBeGreaterThan(0.55)
      expect(share).toBeLessThan(0.65)
    })
  })

  it('fails a job whose deadline passes and refunds what it did not spend', async () => {
    const clock = fakeClock(Date.parse('2030-01-01T00:00:00Z'))
    const blobs = createMemoryBlobStore()
    const c = make({ blobs, clock, tileSize: 2 })
    const job = await c.submit(blobSpec(blobs, 4, 2, 4, { deadline: '2030-01-01T00:00:10Z' }), {
      account: 'd',
    })
    c.registerContributor('p', caps)
    submitHonest(c, 'p', c.lease('p')!)
    // Its events are out once it is committed; listen from there on.
    await c.getJob(job.id)
    const events: JobEvent['type'][] = []
    c.subscribe(job.id, (e) => events.push(e.type))
    clock.advance(11_000)
    expect(c.enforceDeadlines()).toBe(1)
    const failed = await c.getJob(job.id)
    expect(failed.status).toBe('failed')
    expect(failed.error).toMatch(/deadline .* passed with 1 of 4 tasks accepted/)
    expect(failed.credits.refunded).toBe(failed.credits.budget - failed.credits.spent)
    expect(events).toEqual(['failed'])
  })

  it('streams result and progress events, then the final one', async () => {
    const c = make({ tileSize: 2 })
    const job = c.submitMatmul(matrices(2, 2, 4))
    const events: string[] = []
    c.subscribe(job.id, (e) => events.push(e.type === 'result' ? `result:${e.result.seq}` : e.type))
    c.registerContributor('p', caps)
    for (let grant = c.lease('p'); grant; grant = c.lease('p')) submitHonest(c, 'p', grant)
    // Nothing is told before it is committed ...
    expect(events).toEqual([])
    await c.getJob(job.id)
    // ... then everything, in order.
    expect(events).toEqual(['result:1', 'progress', 'result:2', 'completed'])
  })

  it('publishes a result, and lets it be read, only after its commit', async () => {
    const inner = createSqliteStore({ path: ':memory:' })
    let open!: () => void
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    let commits = 0
    // The same store, whose group commits wait for the test to let them through.
    const store = {
      ...inner,
      flushed: () =>
        gate.then(async () => {
          await inner.flushed()
          commits++
        }),
    }
    const c = make({ store, tileSize: 2 })
    const job = c.submitMatmul(matrices(2, 2, 4))
    const events: string[] = []
    c.subscribe(job.id, (e) => events.push(e.type === 'result' ? `result:${e.result.seq}` : e.type))
    c.registerContributor('p', caps)
    expect(submitHonest(c, 'p', c.lease('p')!).outcome).toBe('accepted')
    const page = c.results(job.id)
    const view = c.getJob(job.id)
    let answered = false
    void page.then(() => {
      answered = true
    })
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
    expect(events).toEqual([])
    expect(answered).toBe(false)
    open()
    expect((await page).results.map((r) => r.seq)).toEqual([1])
    expect((await view).tasks.accepted).toBe(1)
    expect(events).toEqual(['result:1', 'progress'])
    expect(commits).toBeGreaterThan(0)
    c.close()
  })
})

describe('coordinator: result visibility', () => {
  it('lets every committed result be read, also when units commit one by one (maxBatch 1)', async () => {
    // Each unit commits inside its transaction: no group is open when the result row's seq
    // is recorded, and later results must still move the watermark.
    const c = make({ store: createSqliteStore({ path: ':memory:', maxBatch: 1 }), tileSize: 2 })
    const job = c.submitMatmul(matrices(2, 2, 8))
    c.registerContributor('p', caps)
    submitHonest(c, 'p', c.lease('p')!)
    expect((await c.results(job.id)).results.map((r) => r.seq)).toEqual([1])
    submitHonest(c, 'p', c.lease('p')!)
    submitHonest(c, 'p', c.lease('p')!)
    expect((await c.results(job.id)).results.map((r) => r.seq)).toEqual([1, 2, 3])
    submitHonest(c, 'p', c.lease('p')!)
    expect((await c.getJob(job.id)).status).toBe('completed')
    expect((await c.results(job.id)).results.map((r) => r.seq)).toEqual([1, 2, 3, 4])
    c.close()
  })

  it('a listener that subscribes after a result, before its commit, still reads it', async () => {
    const c = make({ tileSize: 2 })
    const job = c.submitMatmul(matrices(2, 2, 4))
    c.registerContributor('p', caps)
    // Accepted with nobody listening: no event is built for it.
    submitHonest(c, 'p', c.lease('p')!)
    const events: string[] = []
    c.subscribe(job.id, (e) => events.push(e.type === 'result' ? `result:${e.result.seq}` : e.type))
    expect((await c.results(job.id)).results.map((r) => r.seq)).toEqual([1])
    submitHonest(c, 'p', c.lease('p')!)
    await c.getJob(job.id)
    expect(events).toEqual(['result:2', 'completed'])
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
    expect((await c.account('peer:s1')).earned).toBe(0)
    expect((await c.account('peer:h1')).earned).toBeGreaterThan(0)
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
    expect(quote.credits).toBe(3 * 7)
    expect(
      (await c.quote({ ...spec, verification: { canaries: 0, replication: 3 } })).credits,
    ).toBe(9)
    expect((await c.quote({ ...spec, verification: { canaries: 0 } })).credits).toBe(6)
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
    expect(done.credits).toMatchObject({ budget: 21, spent: 21, refunded: 0 })
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
    expect((await c.account('peer:s1')).pending).toBe(0)
  })
})

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
    expect((await c.account('peer:d')).pending).toBe(job.credits.spent / 3)
    expect((await c.account('peer:d')).balance).toBe(0)
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
      expect((await c.account(`peer:${peer}`)).pending).toBe(0)
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

describe('coordinator: durability', () => {
  it('resumes a job from its data directory with its accepted results and ledger', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coordinator-'))
    dirs.push(dir)
    const open = () => {
      const store = createSqliteStore({ path: join(dir, 'coordinator.db') })
      // Outputs inline in SQLite; the 48-byte inputs too, except that `inlineMaxBytes: 40` sends A to a file.
      const blobs = createTieredBlobStore({
        store,
        large: createDiskBlobStore({ dir: join(dir, 'blobs') }),
        inlineMaxBytes: 40,
      })
      return make({
        store,
        blobs,
        tileSize: 2,
      })
    }
    const spec = matrices(4, 3, 6)
    const first = open()
    const job = first.submitMatmul(spec, { account: 'owner' })
    first.registerContributor('p', caps)
    const grants = [first.lease('p')!, first.lease('p')!, first.lease('p')!]
    // Computed now: a resumed job hashes its bands again only as its leases need them.
    const answers = grants.map((g) => [float32Output(honest(first, g), [tileOf(g).m, tileOf(g).n])])
    submitHonest(first, 'p', grants[0]!)
    submitHonest(first, 'p', grants[1]!)
    first.close()

    const second = open()
    const resumed = await second.getJob(job.id)
    expect(resumed).toMatchObject({ status: 'running', tasks: { accepted: 2, leased: 0 } })
    second.registerContributor('p', caps)
    // The lease granted before the restart is gone; its task is queued again.
    expect(second.submitResult('p', grants[2]!.leaseId, answers[2]!).outcome).toBe('stale')
    // A result accepted before the restart is recognised, and not paid again.
    expect(second.submitResult('p', grants[0]!.leaseId, answers[0]!).outcome).toBe('accepted')
    for (let grant = second.lease('p'); grant; grant = second.lease('p'))
      submitHonest(second, 'p', grant)
    const done = await second.getJob(job.id)
    expect(done.status).toBe('completed')
    expect(await second.jobOutput(job.id)).toEqual(matmulReference(spec.a, spec.b, 4, 3, 6))
    expect((await second.account('peer:p')).earned).toBe(done.credits.spent)
    expect(done.credits.spent).toBe(6 * Math.ceil(1))
    second.close()
  })
})
