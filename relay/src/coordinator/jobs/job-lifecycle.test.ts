import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { JobSpec } from '@tabswarm/protocol'
import { matmulReference } from '@tabswarm/worker-kernels'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryBlobStore } from '../../blobs/blob-store.ts'
import { createDiskBlobStore } from '../../blobs/disk-blob-store.ts'
import { createTieredBlobStore } from '../../blobs/tiered-blob-store.ts'
import { createSqliteStore } from '../../store/sqlite-store.ts'
import { createCoordinator } from '../coordinator.ts'
import type { JobEvent } from '../coordinator-api.ts'
import { float32Output } from '../in-process-inputs.ts'
import {
  blobSpec,
  caps,
  dirs,
  fakeClock,
  honest,
  make,
  matrices,
  removeDirs,
  submitHonest,
  tileOf,
} from '../testing/coordinator-fixture.ts'

// A job's life through the coordinator: quote, escrow, submit and its checks, tiling, results
// and their events after commit, output, deadline, cancel, and resuming after a restart.

afterEach(removeDirs)

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
    const spent = BigInt(done.credits.spent)
    expect(contributor.earned).toBe(spent)
    expect(contributor.balance).toBe(spent)
    const alice = await c.account('alice')
    expect(alice.balance).toBe(1_000_000_000n - spent)
    expect(BigInt(done.credits.refunded)).toBe(BigInt(done.credits.budget) - spent)
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
})

describe('coordinator: jobs, credits and scheduling', () => {
  it('quotes, escrows, refuses what the account cannot pay, and refunds on cancel', async () => {
    const blobs = createMemoryBlobStore()
    const c = createCoordinator({ blobs, tileSize: 2 })
    const spec = blobSpec(blobs, 4, 8, 4)
    const quote = await c.quote(spec)
    expect(quote).toEqual({ flops: 2 * 4 * 8 * 4, tasks: 4, credits: '4' })
    await expect(c.submit(spec, { account: 'bob' })).rejects.toThrow(
      /has 0 credits, the job needs 4/,
    )
    await c.grant('bob', 10n)
    const job = await c.submit(spec, { account: 'bob' })
    expect(await c.account('bob')).toMatchObject({ balance: 6n, escrowed: 4n })
    await expect(c.cancel(job.id, { account: 'eve' })).rejects.toThrow(/another account/)
    const cancelled = await c.cancel(job.id, { account: 'bob' })
    expect(cancelled.status).toBe('cancelled')
    expect(await c.account('bob')).toMatchObject({ balance: 10n, escrowed: 0n })
  })

  it('escrows a budget written as a decimal string past 2^53 to the credit', async () => {
    const blobs = createMemoryBlobStore()
    const c = createCoordinator({ blobs, tileSize: 2 })
    // 2^53 + 1: as a JSON number it would arrive as 2^53.
    const budget = '9007199254740993'
    await c.grant('whale', 2n ** 60n)
    const job = await c.submit(blobSpec(blobs, 4, 8, 4, { budget }), { account: 'whale' })
    expect(job.credits).toEqual({ budget, spent: '0', refunded: '0' })
    expect(await c.account('whale')).toMatchObject({
      balance: 2n ** 60n - 9_007_199_254_740_993n,
      escrowed: 9_007_199_254_740_993n,
    })
    const cancelled = await c.cancel(job.id, { account: 'whale' })
    expect(cancelled.credits.refunded).toBe(budget)
    expect((await c.account('whale')).balance).toBe(2n ** 60n)
    for (const bad of ['1.5', '-1', '9223372036854775808', 2 ** 53 + 2])
      await expect(
        c.submit(blobSpec(blobs, 4, 8, 4, { budget: bad as never }), { account: 'whale' }),
      ).rejects.toThrow(/budget/)
    c.close()
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
    expect(BigInt(failed.credits.refunded)).toBe(
      BigInt(failed.credits.budget) - BigInt(failed.credits.spent),
    )
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
    expect((await second.account('peer:p')).earned).toBe(BigInt(done.credits.spent))
    expect(done.credits.spent).toBe('6')
    second.close()
  })
})
