/**
 * A coordinator reduced to its ownership, for the SIGKILL test: adopts `JOBS` jobs, renews
 * their leases with the real loop, and prints one JSON line when they are adopted. The test
 * kills it with SIGKILL and watches another coordinator take the jobs over.
 *
 * Run with `node_modules/.bin/node relay/src/cluster/testing/ownership-child.ts`, with
 * `DATABASE_URL`, `COORDINATOR_ID`, `JOBS`, `LEASE_MS`, `RENEW_MS` in the environment.
 */
import { createPostgresPool, withTransaction } from '../../store/postgres/postgres-pool.ts'
import { runOwnershipLoop } from '../ownership-loop.ts'
import { createPostgresJobOwnership } from '../postgres-job-ownership.ts'

const env = (name: string): string => {
  const value = process.env[name]
  if (value == null || value === '') throw new Error(`ownership-child needs ${name}`)
  return value
}
const count = Number(env('JOBS'))
const pool = createPostgresPool(env('DATABASE_URL'), { max: 2 })
const ownership = createPostgresJobOwnership({
  pool,
  coordinatorId: env('COORDINATOR_ID'),
  leaseMs: Number(env('LEASE_MS')),
  renewMs: Number(env('RENEW_MS')),
})
await withTransaction(
  pool,
  async (client) => {
    for (let i = 0; i < count; i++)
      await ownership.adopt(client, `${ownership.coordinatorId}-job-${i}`)
  },
  { signal: AbortSignal.timeout(30_000) },
)
const stop = new AbortController()
process.on('SIGTERM', () => stop.abort())
const loop = runOwnershipLoop({
  ownership,
  signal: stop.signal,
  onTaken: () => {},
  onLost: (jobIds) => process.stdout.write(`${JSON.stringify({ lost: jobIds.length })}\n`),
})
process.stdout.write(`${JSON.stringify({ ready: true, jobs: ownership.owned().size })}\n`)
await loop.done
await pool.end()
