import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Capabilities, VerificationPolicy } from '@tabswarm/protocol'
import { matmulReference } from '@tabswarm/worker-kernels'
import { afterEach, describe, expect, it } from 'vitest'
import { type BlobStore, createMemoryBlobStore } from '../../blobs/blob-store.ts'
import { silentLogger } from '../../log.ts'
import type { CoordinatorStore } from '../../store/coordinator-store.ts'
import { createSqliteStore } from '../../store/sqlite-store.ts'
import { type Coordinator, createCoordinator } from '../coordinator.ts'
import type { JobEvent, LeaseGrant } from '../coordinator-api.ts'
import { float32Output, matmulOperands } from '../in-process-inputs.ts'

/**
 * Backtracking (Sarmenta): a sleeper, trusted on a long record, turns wrong on a job checked
 * by votes only. What it got accepted on its credibility alone must not stay in the output.
 */

const caps: Capabilities = {
  adapter: { vendor: 'test', architecture: 'test', device: '', description: '' },
  features: [],
  limits: {},
  kernels: ['matmul', 'custom'],
  agent: 'test',
}

const M = 8
const K = 3
const N = 8
const a = Float32Array.from({ length: M * K }, (_, i) => ((i * 7) % 11) - 5)
const b = Float32Array.from({ length: K * N }, (_, i) => ((i * 3) % 7) - 3)
/** No Freivalds, no spot checks but the newcomers' and the ones a test forces, no canaries. */
const VOTES_ONLY: VerificationPolicy = { freivalds: 0, spotCheck: 0.5, canaries: 0 }

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function right(c: Coordinator, grant: LeaseGrant): Float32Array {
  const { a, b, m, k, n } = matmulOperands(c, grant)
  return matmulReference(a, b, m, k, n)
}

function submit(c: Coordinator, peer: string, grant: LeaseGrant, wrong = false) {
  const out = right(c, grant)
  if (wrong) out[0]! += 0.5
  const { m, n } = matmulOperands(c, grant)
  return c.submitResult(peer, grant.leaseId, [float32Output(out, [m, n])]).outcome
}

/**
 * A coordinator whose sampling the test steers: `draw.next` is every random number, so 0
 * spot-checks the next result (under `VOTES_ONLY`) and 0.99 checks none.
 */
function open(store: CoordinatorStore, blobs: BlobStore) {
  const draw = { next: 0.99 }
  let now = 1_000
  const c = createCoordinator({
    store,
    blobs,
    clock: { now: () => now++ },
    log: silentLogger,
    random: () => draw.next,
    tileSize: 2,
    welcomeCredits: 1_000_000_000n,
  })
  return { c, draw }
}

function veteran(store: CoordinatorStore, id: string): void {
  // Credibility 1 − 0.2 / (0.8 · 1e5 · e): above 1 − 1e-4, so it is accepted alone.
  store.putContributor({
    id,
    payee: `peer:${id}`,
    verified: 100_000,
    faults: 0,
    banned: false,
    lastSeen: 0,
  })
}

function register(c: Coordinator): void {
  c.registerContributor('sleeper', { capabilities: caps, address: '10.1.0.1' })
  c.registerContributor('h1', { capabilities: caps, address: '10.2.0.1' })
  c.registerContributor('h2', { capabilities: caps, address: '10.3.0.1' })
}

async function submitJob(c: Coordinator, blobs: BlobStore) {
  const put = (x: Float32Array) => blobs.put(new Uint8Array(x.buffer.slice(0))).hash
  return c.submit(
    {
      kernel: 'matmul',
      inputs: {
        a: { blob: put(a), dtype: 'float32', shape: [M, K] },
        b: { blob: put(b), dtype: 'float32', shape: [K, N] },
      },
      verification: VOTES_ONLY,
    },
    { account: 'researcher' },
  )
}

/** The honest contributors (and the sleeper, wrong, while it may) until the job ends. */
async function runToEnd(c: Coordinator, jobId: string) {
  for (let round = 0; round < 200 && (await c.getJob(jobId)).status === 'running'; round++)
    for (const peer of ['sleeper', 'h1', 'h2']) {
      const grant = c.lease(peer)
      if (grant != null) submit(c, peer, grant, peer === 'sleeper')
    }
  return c.getJob(jobId)
}

async function allResults(c: Coordinator, jobId: string) {
  const { results } = await c.results(jobId, { limit: 1000 })
  return results
}

describe('backtracking: a trusted sleeper turns wrong on a votes-only job', () => {
  it('undoes its trusted acceptances when it is caught; others recompute them; nothing is paid twice', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const blobs = createMemoryBlobStore()
    veteran(store, 'sleeper')
    const { c, draw } = open(store, blobs)
    register(c)
    const job = await submitJob(c, blobs)
    const events: JobEvent[] = []
    c.subscribe(job.id, (e) => events.push(e))

    // Three wrong tiles, each accepted on the sleeper's credibility alone: hidden from readers.
    for (let i = 0; i < 3; i++)
      expect(submit(c, 'sleeper', c.lease('sleeper')!, true)).toBe('accepted')
    expect((await c.getJob(job.id)).tasks.accepted).toBe(3)
    expect(await allResults(c, job.id)).toEqual([])
    expect((await c.account('peer:sleeper')).pending).toBeGreaterThan(0n)

    // A spot check catches the fourth: the three are undone in the same transaction.
    draw.next = 0
    expect(submit(c, 'sleeper', c.lease('sleeper')!, true)).toBe('rejected')
    draw.next = 0.99
    const caught = await c.getJob(job.id)
    expect(caught.tasks).toMatchObject({ accepted: 0, rejectedResults: 1 })
    expect((await c.account('peer:sleeper')).pending).toBe(0n)
    expect(caught.credits.spent).toBe('0')

    const done = await runToEnd(c, job.id)
    expect(done.status).toBe('completed')
    expect(await c.jobOutput(job.id)).toEqual(matmulReference(a, b, M, K, N))
    const results = await allResults(c, job.id)
    expect(new Set(results.map((r) => r.index)).size).toBe(done.tasks.total)
    expect(results.length).toBe(done.tasks.total)
    // Listeners heard of no result but those in the output.
    const heard = events.flatMap((e) => (e.type === 'result' ? [e.result.seq] : []))
    expect(new Set(heard)).toEqual(new Set(results.map((r) => r.seq)))

    // The sleeper is paid nothing; each task is paid to its two agreeing replicas once.
    const sleeper = await c.account('peer:sleeper')
    expect(sleeper.earned + sleeper.pending).toBe(0n)
    const h1 = await c.account('peer:h1')
    const h2 = await c.account('peer:h2')
    expect(h1.earned + h2.earned).toBe(BigInt(done.credits.spent))
    expect(BigInt(done.credits.spent) + BigInt(done.credits.refunded)).toBe(
      BigInt(done.credits.budget),
    )
    expect(store.ledgerImbalance()).toBe(0n)
    c.close()
  })

  it('checks the latest trusted acceptance before settling: a sleeper never caught during the job is caught then', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const blobs = createMemoryBlobStore()
    veteran(store, 'sleeper')
    const { c } = open(store, blobs)
    register(c)
    const job = await submitJob(c, blobs)
    // The sleeper alone, and no spot check draws it: every tile accepted on its word.
    let grant = c.lease('sleeper')
    for (; grant != null; grant = c.lease('sleeper')) submit(c, 'sleeper', grant, true)
    const checked = await c.getJob(job.id)
    expect(checked.status).toBe('running')
    expect(checked.tasks).toMatchObject({ accepted: 0, rejectedResults: 1 })
    expect(c.stats().counters.spotChecks).toBe(1)

    const done = await runToEnd(c, job.id)
    expect(done.status).toBe('completed')
    expect(await c.jobOutput(job.id)).toEqual(matmulReference(a, b, M, K, N))
    const sleeper = await c.account('peer:sleeper')
    expect(sleeper.earned + sleeper.pending).toBe(0n)
    expect(store.ledgerImbalance()).toBe(0n)
    c.close()
  })

  it('costs an honest trusted contributor one recomputation per job', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const blobs = createMemoryBlobStore()
    veteran(store, 'sleeper')
    const { c } = open(store, blobs)
    c.registerContributor('sleeper', caps)
    const job = await submitJob(c, blobs)
    for (let grant = c.lease('sleeper'); grant != null; grant = c.lease('sleeper'))
      submit(c, 'sleeper', grant)
    const done = await c.getJob(job.id)
    expect(done.status).toBe('completed')
    expect(c.stats().counters.spotChecks).toBe(1)
    const results = await allResults(c, job.id)
    expect(results.map((r) => r.method)).toEqual(Array(done.tasks.total).fill('trusted'))
    expect(await c.jobOutput(job.id)).toEqual(matmulReference(a, b, M, K, N))
    expect((await c.account('peer:sleeper')).earned).toBe(BigInt(done.credits.spent))
    c.close()
  })

  it('keeps the provisional marks across a restart, and still undoes them when the sleeper is caught', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'backtracking-'))
    dirs.push(dir)
    const path = join(dir, 'coordinator.db')
    const blobs = createMemoryBlobStore()
    const firstStore = createSqliteStore({ path })
    veteran(firstStore, 'sleeper')
    const first = open(firstStore, blobs)
    register(first.c)
    const job = await submitJob(first.c, blobs)
    for (let i = 0; i < 3; i++) submit(first.c, 'sleeper', first.c.lease('sleeper')!, true)
    // A newcomer's result is recomputed: verified, and published at once.
    expect(submit(first.c, 'h1', first.c.lease('h1')!)).toBe('accepted')
    expect((await allResults(first.c, job.id)).map((r) => r.method)).toEqual(['spot-check'])
    first.c.close()

    const secondStore = createSqliteStore({ path })
    const second = open(secondStore, blobs)
    register(second.c)
    expect((await second.c.getJob(job.id)).tasks.accepted).toBe(4)
    expect((await allResults(second.c, job.id)).map((r) => r.method)).toEqual(['spot-check'])
    expect(secondStore.provisionalResults(job.id)).toHaveLength(3)
    second.draw.next = 0
    expect(submit(second.c, 'sleeper', second.c.lease('sleeper')!, true)).toBe('rejected')
    second.draw.next = 0.99
    expect((await second.c.getJob(job.id)).tasks.accepted).toBe(1)
    expect(secondStore.provisionalResults(job.id)).toEqual([])
    const done = await runToEnd(second.c, job.id)
    expect(done.status).toBe('completed')
    expect(await second.c.jobOutput(job.id)).toEqual(matmulReference(a, b, M, K, N))
    const sleeper = await second.c.account('peer:sleeper')
    expect(sleeper.earned + sleeper.pending).toBe(0n)
    expect(secondStore.ledgerImbalance()).toBe(0n)
    second.c.close()
  })

  it('custom kernels: the latest trusted answer needs a second contributor before settling; a sleeper outvoted there is backtracked', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const blobs = createMemoryBlobStore()
    veteran(store, 'sleeper')
    const { c } = open(store, blobs)
    register(c)
    const f32 = (v: number) => new Uint8Array(new Float32Array([v]).buffer)
    const x = blobs.put(f32(1)).hash
    const task = {
      inputs: [{ blob: x, dtype: 'float32' as const, shape: [1] }],
      outputs: [{ shape: [1], dtype: 'float32' as const }],
      workgroups: [1, 1, 1] as [number, number, number],
    }
    const job = await c.submit(
      {
        kernel: 'custom',
        program: {
          wgsl: '@compute @workgroup_size(1) fn main() {}',
          inputs: [{ name: 'x', dtype: 'float32' }],
          outputs: [{ name: 'y', dtype: 'float32' }],
        },
        tasks: [task, task],
        verification: { canaries: 0 },
      },
      { account: 'researcher' },
    )
    const answer = (peer: string, value: number) => {
      const grant = c.lease(peer)
      return (
        grant &&
        c.submitResult(peer, grant.leaseId, [{ shape: [1], dtype: 'float32', bytes: f32(value) }])
          .outcome
      )
    }
    expect(answer('sleeper', 666)).toBe('accepted')
    expect(answer('sleeper', 666)).toBe('accepted')
    // Both accepted on its word: the latest is taken back for a second opinion.
    expect((await c.getJob(job.id)).tasks.accepted).toBe(1)
    expect(answer('sleeper', 666)).toBeUndefined()
    expect(answer('h1', 2)).toBe('pending')
    expect(answer('h2', 2)).toBe('accepted')
    // Outvoted: faulted, and its other trusted answer undone.
    expect((await c.getJob(job.id)).tasks).toMatchObject({ accepted: 1, rejectedResults: 1 })
    expect(answer('h1', 2)).toBe('pending')
    expect(answer('h2', 2)).toBe('accepted')
    const done = await c.getJob(job.id)
    expect(done.status).toBe('completed')
    const results = await allResults(c, job.id)
    expect(results.map((r) => r.method)).toEqual(['replication', 'replication'])
    for (const r of results) expect(blobs.get(r.outputs[0]!.blob)).toEqual(f32(2))
    const sleeper = await c.account('peer:sleeper')
    expect(sleeper.earned + sleeper.pending).toBe(0n)
    expect(store.ledgerImbalance()).toBe(0n)
    c.close()
  })
})
