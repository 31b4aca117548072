import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { jobOwnersMigration } from '../store/postgres/migrations/job-owners.ts'
import { applyPostgresMigrations } from '../store/postgres/postgres-migrations.ts'
import { createPostgresPool, withTransaction } from '../store/postgres/postgres-pool.ts'
import {
  type PostgresServer,
  startPostgresServer,
} from '../store/postgres/testing/postgres-server.ts'
import { FencedError } from './job-ownership.ts'
import { runOwnershipLoop } from './ownership-loop.ts'
import { createPostgresJobOwnership } from './postgres-job-ownership.ts'

let server: PostgresServer
const pools: pg.Pool[] = []
const children: ChildProcess[] = []

beforeAll(async () => {
  server = await startPostgresServer()
}, 120_000)
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode == null) child.kill('SIGKILL')
  await Promise.all(pools.splice(0).map((pool) => pool.end()))
})
afterAll(async () => {
  await server?.stop()
})

/** A fresh database at schema version 3 and `n` pools on it (one per coordinator). */
async function freshDatabase(n: number): Promise<{ url: string; pools: pg.Pool[] }> {
  const url = await server.createDatabase()
  const made = Array.from({ length: n }, () => createPostgresPool(url, { max: 4 }))
  pools.push(...made)
  // Versions 1 and 2 belong to other parts of the store; ours is applied on its own here.
  await applyPostgresMigrations(made[0] as pg.Pool, [jobOwnersMigration])
  return { url, pools: made }
}

/** `n` jobs owned by a coordinator that died long ago. */
async function insertLapsedJobs(pool: pg.Pool, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `job-${String(i).padStart(4, '0')}`)
  await pool.query(
    `INSERT INTO job_owners (job_id, owner, token, expires_at)
     SELECT id, 'dead', 1, 0 FROM unnest($1::text[]) AS id`,
    [ids],
  )
  return ids
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
}

describe('PostgreSQL job ownership', () => {
  it('splits 300 lapsed jobs between three concurrent coordinators: each owned by exactly one, no token reused', async () => {
    const {
      pools: [a, b, c],
    } = await freshDatabase(3)
    const ids = await insertLapsedJobs(a as pg.Pool, 300)
    const owners = [a, b, c].map((pool, i) =>
      createPostgresJobOwnership({ pool: pool as pg.Pool, coordinatorId: `coord-${i}` }),
    )
    const latencies: number[] = []
    const takenBy = await Promise.all(
      owners.map(async (ownership) => {
        const taken: Array<{ jobId: string; token: bigint }> = []
        for (;;) {
          const started = performance.now()
          const batch = await ownership.takeOver(10)
          latencies.push(performance.now() - started)
          if (batch.length === 0) return taken
          taken.push(...batch)
        }
      }),
    )
    const all = takenBy.flat()
    expect(all).toHaveLength(300)
    expect(new Set(all.map((t) => t.jobId)).size).toBe(300)
    expect(new Set(all.map((t) => t.jobId))).toEqual(new Set(ids))
    // Each take raises the token by one: none is handed out twice.
    for (const { token } of all) expect(token).toBe(2n)
    const { rows } = await (a as pg.Pool).query<{ job_id: string; owner: string; token: string }>(
      'SELECT job_id, owner, token::text FROM job_owners',
    )
    const ownerOf = new Map(rows.map((row) => [row.job_id, row]))
    takenBy.forEach((taken, i) => {
      expect(owners[i]?.owned().size).toBe(taken.length)
      for (const { jobId } of taken) {
        expect(ownerOf.get(jobId)?.owner).toBe(`coord-${i}`)
        expect(ownerOf.get(jobId)?.token).toBe('2')
      }
    })
    // A lease just taken is not lapsed: a second round takes nothing.
    expect(await owners[0]?.takeOver(100)).toEqual([])
    latencies.sort((x, y) => x - y)
    console.log(
      `takeOver batches of 10 (3 coordinators, 300 jobs): ${latencies.length} calls, p50 ${quantile(latencies, 0.5).toFixed(1)} ms, p99 ${quantile(latencies, 0.99).toFixed(1)} ms; split ${takenBy.map((t) => t.length).join('/')}`,
    )
  })

  it('refuses a stale owner: its fence throws FencedError in its transaction and its write is not committed', async () => {
    const {
      pools: [a, b],
    } = await freshDatabase(2)
    await (a as pg.Pool).query('CREATE TABLE writes (job_id TEXT, value TEXT)')
    const stale = createPostgresJobOwnership({
      pool: a as pg.Pool,
      coordinatorId: 'stale',
      leaseMs: 200,
      renewMs: 50,
    })
    const fresh = createPostgresJobOwnership({ pool: b as pg.Pool, coordinatorId: 'fresh' })
    expect(await withTransaction(a as pg.Pool, (client) => stale.adopt(client, 'job-1'))).toBe(1n)
    // The owner's own write passes while it holds the job.
    await withTransaction(a as pg.Pool, async (client) => {
      await stale.fence(client, ['job-1'])
      await client.query("INSERT INTO writes VALUES ('job-1', 'first')")
    })
    // Not lapsed yet: nothing to take.
    expect(await fresh.takeOver(10)).toEqual([])
    await expect
      .poll(() => fresh.takeOver(10), { timeout: 5_000, interval: 50 })
      .toEqual([{ jobId: 'job-1', token: 2n }])

    const write = withTransaction(a as pg.Pool, async (client) => {
      await client.query("INSERT INTO writes VALUES ('job-1', 'stale')")
      await stale.fence(client, ['job-1'])
    })
    await expect(write).rejects.toBeInstanceOf(FencedError)
    await expect(write).rejects.toMatchObject({
      jobId: 'job-1',
      message: /held by fresh at token 2/,
    })
    const { rows } = await (a as pg.Pool).query<{ value: string }>('SELECT value FROM writes')
    expect(rows.map((row) => row.value)).toEqual(['first'])
    // The new owner writes; the stale one learns it lost the job at its next renewal.
    await withTransaction(b as pg.Pool, (client) => fresh.fence(client, ['job-1']))
    expect(await stale.renew()).toEqual(['job-1'])
    expect(stale.owned().size).toBe(0)
    await expect(withTransaction(a as pg.Pool, (c) => stale.fence(c, ['job-1']))).rejects.toThrow(
      /not held by coordinator stale/,
    )
  })

  it('does not take a job whose fenced write is in flight; takes it once that commits', async () => {
    const {
      pools: [a, b],
    } = await freshDatabase(2)
    const owner = createPostgresJobOwnership({
      pool: a as pg.Pool,
      coordinatorId: 'owner',
      leaseMs: 200,
      renewMs: 50,
    })
    const taker = createPostgresJobOwnership({ pool: b as pg.Pool, coordinatorId: 'taker' })
    await withTransaction(a as pg.Pool, (client) => owner.adopt(client, 'job-1'))
    await new Promise((resolve) => setTimeout(resolve, 300))
    let commit: () => void = () => {}
    const committed = new Promise<void>((resolve) => (commit = resolve))
    let fenced: () => void = () => {}
    const inFlight = new Promise<void>((resolve) => (fenced = resolve))
    const write = withTransaction(a as pg.Pool, async (client) => {
      await owner.fence(client, ['job-1'])
      fenced()
      await committed
    })
    await inFlight
    // The lease lapsed, but the row is locked by the owner's write: skipped, not waited for.
    expect(await taker.takeOver(10)).toEqual([])
    // Renewal is not blocked by the owner's own write either.
    expect(await owner.renew(AbortSignal.timeout(2_000))).toEqual([])
    commit()
    await write
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(await taker.takeOver(10)).toEqual([{ jobId: 'job-1', token: 2n }])
  })

  it('hands released jobs to the next taker at once, and never takes an ended job', async () => {
    const {
      pools: [a, b],
    } = await freshDatabase(2)
    const first = createPostgresJobOwnership({ pool: a as pg.Pool, coordinatorId: 'first' })
    const second = createPostgresJobOwnership({ pool: b as pg.Pool, coordinatorId: 'second' })
    await withTransaction(a as pg.Pool, async (client) => {
      for (const id of ['j1', 'j2', 'j3']) await first.adopt(client, id)
    })
    await first.release(['j1', 'j2'])
    await withTransaction(a as pg.Pool, (client) => first.end(client, ['j3']))
    expect(first.owned().size).toBe(0)
    const taken = await second.takeOver(10)
    expect(taken.sort((x, y) => x.jobId.localeCompare(y.jobId))).toEqual([
      { jobId: 'j1', token: 2n },
      { jobId: 'j2', token: 2n },
    ])
    const { rows } = await (a as pg.Pool).query('SELECT job_id FROM job_owners ORDER BY job_id')
    expect(rows).toEqual([{ job_id: 'j1' }, { job_id: 'j2' }])
  })

  it('validates what it is given', async () => {
    const {
      pools: [a],
    } = await freshDatabase(1)
    expect(() =>
      createPostgresJobOwnership({ pool: a as pg.Pool, leaseMs: 1_000, renewMs: 1_000 }),
    ).toThrow(/below leaseMs/)
    const ownership = createPostgresJobOwnership({ pool: a as pg.Pool })
    expect(ownership.coordinatorId).toMatch(/^coord-[0-9a-f]{12}$/)
    await expect(ownership.takeOver(0)).rejects.toThrow(RangeError)
    await expect(withTransaction(a as pg.Pool, (c) => ownership.adopt(c, 'a b'))).rejects.toThrow(
      /printable ASCII/,
    )
  })

  it('SIGKILL: another coordinator takes all 50 jobs of a killed one within leaseMs + renewMs + margin', async () => {
    const {
      url,
      pools: [a],
    } = await freshDatabase(1)
    const leaseMs = 5_000
    const renewMs = 1_000
    const child = spawn(
      'node_modules/.bin/node',
      ['relay/src/cluster/testing/ownership-child.ts'],
      {
        cwd: new URL('../../../', import.meta.url).pathname,
        env: {
          ...process.env,
          DATABASE_URL: url,
          COORDINATOR_ID: 'doomed',
          JOBS: '50',
          LEASE_MS: String(leaseMs),
          RENEW_MS: String(renewMs),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    children.push(child)
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
    const ready = await new Promise<{ ready: boolean; jobs: number }>((resolve, reject) => {
      lines.once('line', (line) => resolve(JSON.parse(line)))
      child.once('exit', (code) =>
        reject(new Error(`ownership child exited (${code}) before adopting`)),
      )
    })
    expect(ready).toEqual({ ready: true, jobs: 50 })
    // Let it renew a few times: it is alive and its leases stay fresh.
    await new Promise((resolve) => setTimeout(resolve, 2 * renewMs))
    const survivor = createPostgresJobOwnership({
      pool: a as pg.Pool,
      coordinatorId: 'survivor',
      leaseMs,
      renewMs,
    })
    expect(await survivor.takeOver(100)).toEqual([])

    const stop = new AbortController()
    let allTakenAt = 0
    const taken: string[] = []
    const loop = runOwnershipLoop({
      ownership: survivor,
      signal: stop.signal,
      batch: 20,
      onTaken: (jobs) => {
        taken.push(...jobs.map((job) => job.jobId))
        if (taken.length === 50) allTakenAt = performance.now()
      },
      onLost: () => {},
    })
    const killedAt = performance.now()
    child.kill('SIGKILL')
    await expect.poll(() => taken.length, { timeout: leaseMs + renewMs + 3_000 }).toBe(50)
    stop.abort()
    await loop.done
    const takeoverMs = allTakenAt - killedAt
    console.log(
      `SIGKILL takeover: all 50 jobs taken ${takeoverMs.toFixed(0)} ms after the kill (lease ${leaseMs} ms, renew ${renewMs} ms)`,
    )
    expect(takeoverMs).toBeLessThan(leaseMs + renewMs + 1_000)
    // Not before the lease could have lapsed: the child renewed at most renewMs before.
    expect(takeoverMs).toBeGreaterThan(leaseMs - renewMs - 200)
    expect(new Set(taken).size).toBe(50)
    const { rows } = await (a as pg.Pool).query<{ owner: string; n: string }>(
      'SELECT owner, count(*)::text AS n FROM job_owners GROUP BY owner',
    )
    expect(rows).toEqual([{ owner: 'survivor', n: '50' }])
  }, 30_000)
})
