import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Capabilities, Verdict } from '@tabswarm/protocol'
import { matmulReference } from '@tabswarm/worker-kernels'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { LeaseGrant, WorkGateway } from '../coordinator/coordinator-api.ts'
import { float32Output, matmulOperands } from '../coordinator/in-process-inputs.ts'
import { pendingAccount } from '../ledger/ledger.ts'
import {
  type PostgresServer,
  startPostgresServer,
} from '../store/postgres/testing/postgres-server.ts'
import { startClusterMember } from './testing/cluster-member.ts'

// Task-level sharing on a real PostgreSQL: a job owned by a relay with no contributors runs
// on another relay's contributors, claimed from `task_offers` with SKIP LOCKED, verified,
// recorded and paid by its owner, the verdicts coming back to the contributors.

let server: PostgresServer
const dirs: string[] = []
beforeAll(async () => {
  server = await startPostgresServer()
})
afterAll(async () => {
  await server?.stop()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const caps: Capabilities = {
  adapter: { vendor: 'sim', architecture: 'sim', device: '', description: 'simulated' },
  features: [],
  limits: {},
  kernels: ['matmul'],
  agent: 'test',
}

/** A relay/coordinator of a cluster in this process, sharing tasks through `blobDir`. */
function member(url: string, blobDir: string) {
  return startClusterMember(url, {
    blobDir,
    leaseMs: 2_000,
    renewMs: 400,
    shareTasks: true,
    coordinator: { tileSize: 8, welcomeCredits: 10n ** 12n, speculateAfterMs: 600_000 },
    // Nobody hands the job over: its tasks must reach the other relay as offers.
    node: { handoffAfterMs: 600_000, idleTakeoverDelayMs: 600_000 },
  })
}

/** An honest simulated contributor on `work` until `stop`: what it ran and heard. */
function contributor(
  work: WorkGateway,
  peerId: string,
  address: string,
  stop: AbortSignal,
  /** Adds 1 to every element of its answers. */
  lies = false,
) {
  work.registerContributor(peerId, { capabilities: caps, gflops: 100, address })
  const ran: LeaseGrant[] = []
  const outcomes: string[] = []
  const verdicts: Verdict[] = []
  const done = (async () => {
    while (!stop.aborted) {
      verdicts.push(...work.takeVerdicts(peerId, 64))
      const grant = work.lease(peerId)
      if (grant == null) {
        await new Promise((resolve) => setTimeout(resolve, 10))
        continue
      }
      ran.push(grant)
      const { a, b, m, k, n } = matmulOperands(work, grant)
      const product = matmulReference(a, b, m, k, n)
      if (lies) for (let i = 0; i < product.length; i++) product[i]! += 1
      const outcome = work.submitResult(peerId, grant.leaseId, [float32Output(product, [m, n])])
      outcomes.push(outcome.outcome)
    }
  })()
  return { peerId, ran, outcomes, verdicts, done }
}

describe('task sharing across relays', () => {
  it("runs a job owned by a relay without contributors on another relay's, paid and verified by its owner", async () => {
    const url = await server.createDatabase()
    const blobDir = mkdtempSync(join(tmpdir(), 'task-sharing-'))
    dirs.push(blobDir)
    const owner = await member(url, blobDir)
    const other = await member(url, blobDir)
    const stop = new AbortController()
    try {
      const workers = [0, 1, 2].map((i) =>
        contributor(other.node.work, `peer-${i}`, `10.1.0.${i + 1}`, stop.signal),
      )

      const m = 64
      const n = 48
      const k = 8
      const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i * 0.37))
      const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.11))
      const job = owner.coordinator.submitMatmul({ a, b, m, k, n })
      await owner.coordinator.durable()
      expect(job.tasks.total).toBe(48)

      await vi.waitFor(
        async () => expect((await owner.coordinator.getJob(job.id)).status).toBe('completed'),
        { timeout: 30_000, interval: 100 },
      )
      // It ran where it was submitted, on the other relay's contributors only.
      expect(owner.node.stats().takeovers + other.node.stats().takeovers).toBe(0)
      expect(other.coordinator.runs(job.id)).toBe(false)
      const product = await owner.coordinator.jobOutput(job.id)
      const expected = matmulReference(a, b, m, k, n)
      for (let i = 0; i < expected.length; i++)
        expect(Math.abs(product[i]! - expected[i]!)).toBeLessThan(1e-4)

      // Each task run by one contributor (no replication on matmul: Freivalds covers it).
      const ranTasks = workers.flatMap((w) => w.ran.map((g) => g.taskId))
      expect(new Set(ranTasks).size).toBe(48)
      expect(ranTasks.length).toBe(48)
      // Told `pending` at hand-in, then the owner's verdicts arrive.
      expect(workers.flatMap((w) => w.outcomes).every((o) => o === 'pending')).toBe(true)
      await vi.waitFor(
        () => expect(workers.reduce((sum, w) => sum + w.verdicts.length, 0)).toBe(48),
        { timeout: 10_000, interval: 50 },
      )
      expect(workers.every((w) => w.verdicts.every((v) => v.outcome === 'accepted'))).toBe(true)

      // Paid by the owner, in the shared ledger, which sums to zero.
      stop.abort()
      await Promise.all(workers.map((w) => w.done))
      await owner.cluster.working.drain()
      const db = new pg.Client({ connectionString: url })
      await db.connect()
      try {
        const paid = await db.query<{ account: string; n: number }>(
          "SELECT credit AS account, count(*)::int AS n FROM transfers WHERE job_id = $1 AND kind = 'pay' GROUP BY credit",
          [job.id],
        )
        const byAccount = new Map(paid.rows.map((r) => [r.account, r.n]))
        for (const w of workers)
          expect(byAccount.get(pendingAccount(`peer:${w.peerId}`, job.id)) ?? 0).toBe(w.ran.length)
        const sum = await db.query('SELECT COALESCE(sum(balance), 0)::text AS s FROM balances')
        expect(sum.rows[0].s).toBe('0')
        const left = await db.query(
          'SELECT count(*)::int AS n FROM task_offers WHERE job_id = $1',
          [job.id],
        )
        expect(left.rows[0].n).toBe(0)
      } finally {
        await db.end()
      }
      const published = owner.node.stats().offers!.published
      expect(published.results).toBe(48)
      expect(other.node.stats().offers!.claimed.leased).toBe(48)
    } finally {
      stop.abort()
      await owner.stop()
      await other.stop()
    }
  }, 60_000)

  it('gives claimed offers back when the relay stops, and the owner runs them elsewhere', async () => {
    const url = await server.createDatabase()
    const blobDir = mkdtempSync(join(tmpdir(), 'task-sharing-'))
    dirs.push(blobDir)
    const owner = await member(url, blobDir)
    const quitter = await member(url, blobDir)
    const stop = new AbortController()
    try {
      // A contributor that takes an offer and never answers: its relay stops with it held.
      quitter.node.work.registerContributor('holder', { capabilities: caps, address: '10.2.0.1' })
      const job = owner.coordinator.submitMatmul({
        a: new Float32Array(64).fill(1),
        b: new Float32Array(64).fill(2),
        m: 8,
        k: 8,
        n: 8,
      })
      await owner.coordinator.durable()
      let held: LeaseGrant | undefined
      await vi.waitFor(
        () => {
          held = quitter.node.work.lease('holder')
          expect(held).toBeDefined()
        },
        { timeout: 10_000, interval: 50 },
      )
      expect(held!.jobId).toBe(job.id)
      await quitter.stop()
      // Given back, not left to expire (a minute): a contributor here gets it at once.
      owner.coordinator.registerContributor('here', caps)
      await vi.waitFor(() => expect(owner.coordinator.lease('here')?.taskId).toBe(held!.taskId), {
        timeout: 10_000,
        interval: 50,
      })
    } finally {
      stop.abort()
      await owner.stop()
    }
  }, 60_000)

  it('a relay that does not share the blob directory gives offers back instead of serving inputs it lacks', async () => {
    const url = await server.createDatabase()
    const ownDir = mkdtempSync(join(tmpdir(), 'task-sharing-'))
    const otherDir = mkdtempSync(join(tmpdir(), 'task-sharing-'))
    dirs.push(ownDir, otherDir)
    const owner = await member(url, ownDir)
    const apart = await member(url, otherDir)
    const stop = new AbortController()
    try {
      const w = contributor(apart.node.work, 'apart-peer', '10.3.0.1', stop.signal)
      const job = owner.coordinator.submitMatmul({
        a: new Float32Array(32 * 8).fill(1),
        b: new Float32Array(8 * 32).fill(1),
        m: 32,
        k: 8,
        n: 32,
      })
      await vi.waitFor(
        () => expect(apart.node.stats().offers!.claimed.gaveBack).toBeGreaterThan(0),
        {
          timeout: 10_000,
          interval: 50,
        },
      )
      // Nothing ran there, and the owner's queue has its tasks back for its own contributors.
      expect(w.ran).toHaveLength(0)
      owner.coordinator.registerContributor('here', caps)
      await vi.waitFor(() => expect(owner.coordinator.lease('here')?.jobId).toBe(job.id), {
        timeout: 10_000,
        interval: 50,
      })
    } finally {
      stop.abort()
      await owner.stop()
      await apart.stop()
    }
  }, 60_000)

  it('a contributor that lies through another relay is caught and banned by the owner, and the ban stops it there', async () => {
    const url = await server.createDatabase()
    const blobDir = mkdtempSync(join(tmpdir(), 'task-sharing-'))
    dirs.push(blobDir)
    const owner = await member(url, blobDir)
    const other = await member(url, blobDir)
    const stop = new AbortController()
    try {
      const liar = contributor(other.node.work, 'liar', '10.4.0.1', stop.signal, true)
      const m = 32
      const a = Float32Array.from({ length: m * 8 }, (_, i) => (i % 5) - 2)
      const b = Float32Array.from({ length: 8 * m }, (_, i) => (i % 3) - 1)
      const job = owner.coordinator.submitMatmul({ a, b, m, k: 8, n: m })
      // The honest one joins once the liar has answered: otherwise it may take every task.
      await vi.waitFor(() => expect(liar.ran.length).toBeGreaterThan(0), {
        timeout: 10_000,
        interval: 20,
      })
      const honest = contributor(other.node.work, 'honest', '10.4.0.2', stop.signal)
      await vi.waitFor(
        async () => expect((await owner.coordinator.getJob(job.id)).status).toBe('completed'),
        { timeout: 30_000, interval: 100 },
      )
      // Freivalds caught it at the owner, which banned it: the ban reached the other relay,
      // which refuses it work without waiting for it to reconnect.
      expect(liar.ran.length).toBeGreaterThan(0)
      await vi.waitFor(
        () => expect(other.node.work.refusal('liar')?.code).toBe('CONTRIBUTOR_BANNED'),
        {
          timeout: 10_000,
          interval: 50,
        },
      )
      expect(other.node.work.refusal('honest')).toBeUndefined()
      await vi.waitFor(
        () => expect(liar.verdicts.some((v) => v.outcome === 'rejected')).toBe(true),
        {
          timeout: 10_000,
          interval: 50,
        },
      )
      // Every result of the product is right, none of them the liar's, and it earned nothing.
      const product = await owner.coordinator.jobOutput(job.id)
      const expected = matmulReference(a, b, m, 8, m)
      expect(product).toEqual(expected)
      expect((await owner.coordinator.account('peer:liar')).earned).toBe(0n)
      expect(honest.ran.length).toBeGreaterThan(0)
    } finally {
      stop.abort()
      await owner.stop()
      await other.stop()
    }
  }, 60_000)
})
