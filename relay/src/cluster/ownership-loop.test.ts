import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jobOwnersMigration } from '../store/postgres/migrations/job-owners.ts'
import { applyPostgresMigrations } from '../store/postgres/postgres-migrations.ts'
import { createPostgresPool, withTransaction } from '../store/postgres/postgres-pool.ts'
import {
  type PostgresServer,
  startPostgresServer,
} from '../store/postgres/testing/postgres-server.ts'
import { runOwnershipLoop } from './ownership-loop.ts'
import { createPostgresJobOwnership } from './postgres-job-ownership.ts'

let server: PostgresServer

beforeAll(async () => {
  server = await startPostgresServer()
}, 120_000)
afterAll(async () => {
  await server?.stop()
})

describe('the ownership loop', () => {
  it('survives the database stopping and starting: renews again, drops every job once its lease ran out unrenewed, then takes them back', async () => {
    const url = await server.createDatabase()
    const pool: pg.Pool = createPostgresPool(url, { max: 4, connectionTimeoutMs: 1_000 })
    const stop = new AbortController()
    try {
      await applyPostgresMigrations(pool, [jobOwnersMigration])
      const leaseMs = 4_000
      const ownership = createPostgresJobOwnership({
        pool,
        coordinatorId: 'c1',
        leaseMs,
        renewMs: 200,
      })
      const jobs = ['j1', 'j2', 'j3', 'j4', 'j5']
      await withTransaction(pool, async (client) => {
        for (const id of jobs) await ownership.adopt(client, id)
      })
      const lost: string[] = []
      const taken: Array<{ jobId: string; token: bigint }> = []
      const loop = runOwnershipLoop({
        ownership,
        signal: stop.signal,
        pollMs: 200,
        onLost: (ids) => lost.push(...ids),
        onTaken: (batch) => void taken.push(...batch),
      })
      await expect.poll(() => loop.stats().renewals).toBeGreaterThan(1)

      // A short outage, well inside the lease: the loop recovers and keeps every job.
      const pausedAt = performance.now()
      await server.pause()
      await expect.poll(() => loop.stats().renewErrors, { timeout: 2_000 }).toBeGreaterThan(0)
      await server.resume()
      const outageMs = performance.now() - pausedAt
      const renewalsBefore = loop.stats().renewals
      await expect
        .poll(() => loop.stats().renewals, { timeout: 5_000 })
        .toBeGreaterThan(renewalsBefore + 1)
      console.log(`short outage (pg_ctl stop + start): ${outageMs.toFixed(0)} ms`)
      expect(outageMs, 'the server took too long to stop and start for this test').toBeLessThan(
        leaseMs - 500,
      )
      expect(lost).toEqual([])
      expect(ownership.owned().size).toBe(5)

      // An outage longer than the lease: it may no longer write its jobs, and says so.
      await server.pause()
      const lapsedAt = performance.now()
      await expect.poll(() => lost.length, { timeout: leaseMs + 2_000 }).toBe(5)
      expect(performance.now() - lapsedAt).toBeLessThan(leaseMs + 1_000)
      expect(new Set(lost)).toEqual(new Set(jobs))
      expect(ownership.owned().size).toBe(0)
      expect(loop.stats().leaseLapses).toBe(1)
      await server.resume()
      // Back up: nobody else took them, so it takes them over itself, each at a new token.
      await expect.poll(() => taken.length, { timeout: leaseMs + 5_000 }).toBe(5)
      expect(new Set(taken.map((t) => t.jobId))).toEqual(new Set(jobs))
      for (const { token } of taken) expect(token).toBe(2n)
      // And keeps them: renewed again, not dropped as lapsed.
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      expect(ownership.owned().size).toBe(5)
      expect(lost).toHaveLength(5)
      expect(loop.stats().leaseLapses).toBe(1)
      stop.abort()
      await loop.done
      console.log(`ownership loop stats after two outages: ${JSON.stringify(loop.stats())}`)
    } finally {
      stop.abort()
      await server.resume()
      await pool.end()
    }
  }, 40_000)

  it('hands jobs back when loading them fails', async () => {
    const url = await server.createDatabase()
    const pool: pg.Pool = createPostgresPool(url, { max: 4 })
    const stop = new AbortController()
    try {
      await applyPostgresMigrations(pool, [jobOwnersMigration])
      await pool.query(`INSERT INTO job_owners VALUES ('j1', 'dead', 1, 0)`)
      const ownership = createPostgresJobOwnership({ pool, coordinatorId: 'c1' })
      const loop = runOwnershipLoop({
        ownership,
        signal: stop.signal,
        pollMs: 10_000,
        onLost: () => {},
        onTaken: () => {
          throw new Error('cannot load')
        },
      })
      await expect.poll(() => loop.stats().taken).toBe(1)
      await expect
        .poll(async () => (await pool.query('SELECT owner, token::text FROM job_owners')).rows)
        .toEqual([{ owner: '', token: '2' }])
      expect(ownership.owned().size).toBe(0)
      stop.abort()
      await loop.done
    } finally {
      stop.abort()
      await pool.end()
    }
  })
})
