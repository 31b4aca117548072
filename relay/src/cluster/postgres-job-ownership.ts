import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import { withTransaction } from '../store/postgres/postgres-pool.ts'
import { DB_NOW_MS, INT8_AS_BIGINT } from '../store/postgres/postgres-query.ts'
import { notifyCluster } from './cluster-wake.ts'
import { FencedError, type JobOwnership } from './job-ownership.ts'

/**
 * `JobOwnership` on the shared PostgreSQL, over the `job_owners` table (migration 3,
 * `relay/src/store/postgres/migrations/job-owners.ts`).
 *
 * Lease expiry is computed by the database (`now()`), never by this process: two
 * coordinators whose clocks disagree still agree on whose lease lapsed. The fencing token
 * is per job and only ever rises (each takeover adds one), so a write fenced at an old
 * token is refused however late it arrives.
 */
export interface PostgresJobOwnershipOptions {
  pool: pg.Pool
  /** Unique per process start. @default `coord-` and 12 random hex digits */
  coordinatorId?: string
  /** How long a lease lasts after its last renewal. @default 5_000 */
  leaseMs?: number
  /** How often the owner renews (`runOwnershipLoop`); less than `leaseMs`. @default 1_000 */
  renewMs?: number
  /** Bound on each of `takeOver`, `renew`, `release` when no signal is given. @default leaseMs */
  timeoutMs?: number
}

export interface PostgresJobOwnership extends JobOwnership {
  readonly leaseMs: number
  readonly renewMs: number
  /**
   * In the caller's transaction (the one that writes the job's final status): fences the
   * jobs, then deletes their owner rows, so nobody takes an ended job over. `release`
   * instead hands a running job back.
   */
  end(client: pg.ClientBase, jobIds: readonly string[]): Promise<void>
  /**
   * Drops jobs from memory without touching the database (all of them when `jobIds` is
   * left out): for when this coordinator may no longer write them, e.g. its lease lapsed
   * while the database was unreachable. Returns the ids dropped.
   */
  forget(jobIds?: readonly string[]): string[]
  /**
   * The second half of `fence`, for a caller that ran {@link fenceLockSql} inside a
   * statement of its own (to save the round trip): throws `FencedError` unless `rows`
   * show this coordinator holding every job at the token it was given.
   *
   * `tokens`: the tokens the writes were made under, when that was earlier than now (a
   * journal batch cut before this coordinator lost a job and took it back, reloading its
   * state: the old writes must not land on top of the reloaded state). @default the
   * tokens held now
   */
  checkFence(
    jobIds: Iterable<string>,
    rows: readonly FenceRow[],
    tokens?: ReadonlyMap<string, bigint>,
  ): void
}

/** A `job_owners` row as the fence reads it (`token` as text or bigint: compared exactly). */
export interface FenceRow {
  job_id: string
  owner: string
  token: bigint | string
}

/**
 * The fence's lock: the owner rows of the jobs in the text[] parameter `param`, sorted
 * (two transactions fencing overlapping jobs lock them in the same order).
 *
 * FOR KEY SHARE, not FOR SHARE: a takeover (FOR UPDATE) still conflicts, so it waits for,
 * or skips, a job whose write is in flight; our own renewal (an UPDATE of `expires_at`
 * only) does not, so a long write never delays the heartbeat.
 */
export function fenceLockSql(param: string): string {
  return `SELECT job_id, owner, token FROM job_owners
          WHERE job_id = ANY(${param}::text[]) ORDER BY job_id FOR KEY SHARE`
}

const DEFAULT_LEASE_MS = 5_000
const DEFAULT_RENEW_MS = 1_000
/** A job id as stored: the coordinator's ids are short ASCII; anything else is a bug. */
const JOB_ID = /^[\x21-\x7e]{1,200}$/
const MAX_TAKE = 10_000

export function createPostgresJobOwnership(
  options: PostgresJobOwnershipOptions,
): PostgresJobOwnership {
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS
  const renewMs = options.renewMs ?? DEFAULT_RENEW_MS
  if (!Number.isInteger(leaseMs) || leaseMs < 100)
    throw new RangeError(`leaseMs ${leaseMs} must be an integer of at least 100 ms`)
  if (!Number.isInteger(renewMs) || renewMs < 10 || renewMs >= leaseMs)
    throw new RangeError(
      `renewMs ${renewMs} must be an integer of at least 10 ms and below leaseMs (${leaseMs}): an owner that renews less often than its lease lasts loses its jobs between renewals`,
    )
  const coordinatorId = options.coordinatorId ?? `coord-${randomBytes(6).toString('hex')}`
  if (!JOB_ID.test(coordinatorId))
    throw new RangeError(
      `coordinatorId ${JSON.stringify(coordinatorId)} must be 1 to 200 printable ASCII characters without spaces`,
    )
  const { pool } = options
  const timeoutMs = options.timeoutMs ?? leaseMs
  const bounded = (signal?: AbortSignal) =>
    AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])])
  /** job id → the token this coordinator holds it at. */
  const held = new Map<string, bigint>()

  function checkHeld(ids: readonly string[]): void {
    for (const jobId of ids)
      if (!held.has(jobId))
        throw new FencedError(
          jobId,
          `job ${jobId} is not held by coordinator ${coordinatorId}: its writes belong to the job's owner (it was taken over, released or ended here)`,
        )
  }

  const ownership: PostgresJobOwnership = {
    coordinatorId,
    leaseMs,
    renewMs,

    owned: () => new Map(held),

    async adopt(client, jobId) {
      checkJobId(jobId)
      // The caller's transaction inserts the job: if it rolls back, the next `renew`
      // finds no row and reports the job lost, which drops it from memory.
      await client.query(
        `INSERT INTO job_owners (job_id, owner, token, expires_at)
         VALUES ($1, $2, 1, ${DB_NOW_MS} + $3)`,
        [jobId, coordinatorId, leaseMs],
      )
      held.set(jobId, 1n)
      return 1n
    },

    async takeOver(max, signal, lapsedForMs = 0) {
      if (!Number.isInteger(max) || max < 1 || max > MAX_TAKE)
        throw new RangeError(`takeOver(max = ${max}): take 1 to ${MAX_TAKE} jobs at a time`)
      const mine = [...held.keys()]
      const { rows } = await withTransaction(
        pool,
        (client) =>
          client.query<{ job_id: string; token: bigint }>({
            // SKIP LOCKED: a row another coordinator is taking (or fencing a write on) is
            // passed over, so concurrent takers split the lapsed jobs between them; under
            // READ COMMITTED a row taken and committed meanwhile is re-checked against
            // `expires_at` before it is locked, so it is never taken twice.
            text: `WITH lapsed AS (
                     SELECT job_id FROM job_owners
                     WHERE expires_at < ${DB_NOW_MS} - $5 AND NOT (job_id = ANY($2::text[]))
                     ORDER BY expires_at
                     LIMIT $3
                     FOR UPDATE SKIP LOCKED
                   )
                   UPDATE job_owners o
                   SET owner = $1, token = o.token + 1, expires_at = ${DB_NOW_MS} + $4
                   FROM lapsed WHERE o.job_id = lapsed.job_id
                   RETURNING o.job_id, o.token`,
            values: [coordinatorId, mine, max, leaseMs, Math.max(0, Math.floor(lapsedForMs))],
            types: INT8_AS_BIGINT,
          }),
        { signal: bounded(signal) },
      )
      const taken = rows.map((row) => ({ jobId: row.job_id, token: row.token }))
      for (const { jobId, token } of taken) held.set(jobId, token)
      return taken
    },

    async renew(signal) {
      const snapshot = [...held]
      const { rows } = await withTransaction(
        pool,
        (client) =>
          client.query<{ job_id: string }>(
            // One round trip: the coordinator's heartbeat and every lease it holds, each
            // only at the token it was given (a job taken over meanwhile is not renewed).
            `WITH seen AS (
               INSERT INTO coordinators (id, started_at, seen_at)
               VALUES ($1, ${DB_NOW_MS}, ${DB_NOW_MS})
               ON CONFLICT (id) DO UPDATE SET seen_at = EXCLUDED.seen_at
             )
             UPDATE job_owners o SET expires_at = ${DB_NOW_MS} + $4
             FROM unnest($2::text[], $3::bigint[]) AS h(job_id, token)
             WHERE o.job_id = h.job_id AND o.owner = $1 AND o.token = h.token
             RETURNING o.job_id`,
            [
              coordinatorId,
              snapshot.map(([jobId]) => jobId),
              snapshot.map(([, token]) => token.toString()),
              leaseMs,
            ],
          ),
        { signal: bounded(signal) },
      )
      const renewed = new Set(rows.map((row) => row.job_id))
      const lost: string[] = []
      for (const [jobId, token] of snapshot) {
        // Taken again meanwhile (a newer token) or already forgotten: not this renewal's loss.
        if (renewed.has(jobId) || held.get(jobId) !== token) continue
        held.delete(jobId)
        lost.push(jobId)
      }
      return lost
    },

    async release(jobIds, signal) {
      const mine = jobIds.filter((jobId) => held.has(jobId))
      if (mine.length === 0) return
      await withTransaction(
        pool,
        async (client) => {
          // Owner '' and lapsed as of now: nobody's. A taker that waits for leases to have
          // lapsed a while (it has no contributors) waits for this one too.
          const { rowCount } = await client.query(
            `UPDATE job_owners o SET owner = '', expires_at = ${DB_NOW_MS}
             FROM unnest($2::text[], $3::bigint[]) AS h(job_id, token)
             WHERE o.job_id = h.job_id AND o.owner = $1 AND o.token = h.token`,
            [coordinatorId, mine, mine.map((jobId) => (held.get(jobId) as bigint).toString())],
          )
          if ((rowCount ?? 0) > 0)
            await notifyCluster(client, {
              type: 'released',
              by: coordinatorId,
              jobs: rowCount ?? 0,
            })
        },
        { signal: bounded(signal) },
      )
      for (const jobId of mine) held.delete(jobId)
    },

    async fence(client, jobIds) {
      // Sorted: two transactions fencing overlapping jobs lock them in the same order.
      const ids = [...new Set(jobIds)].sort()
      if (ids.length === 0) return
      checkHeld(ids)
      const { rows } = await client.query<FenceRow>({
        text: fenceLockSql('$1'),
        values: [ids],
        types: INT8_AS_BIGINT,
      })
      ownership.checkFence(ids, rows)
    },

    checkFence(jobIds, rows, tokens) {
      const ids = [...new Set(jobIds)].sort()
      if (tokens == null) checkHeld(ids)
      const writtenAt = tokens ?? held
      const found = new Map(rows.map((row) => [row.job_id, row]))
      for (const jobId of ids) {
        const row = found.get(jobId)
        const token = writtenAt.get(jobId)
        if (token == null)
          throw new FencedError(
            jobId,
            `job ${jobId} was not held by coordinator ${coordinatorId} when these writes were made: they belong to the job's owner`,
          )
        if (row == null)
          throw new FencedError(
            jobId,
            `job ${jobId} has no owner row: it ended or was never adopted, so coordinator ${coordinatorId} may not write it`,
          )
        if (row.owner !== coordinatorId || BigInt(row.token) !== token)
          throw new FencedError(
            jobId,
            `job ${jobId} is now held by ${row.owner === '' ? 'nobody (released)' : row.owner} at token ${row.token}; coordinator ${coordinatorId} held token ${token}: its lease lapsed and the write is refused`,
          )
      }
    },

    async end(client, jobIds) {
      await ownership.fence(client, jobIds)
      await client.query('DELETE FROM job_owners WHERE job_id = ANY($1::text[]) AND owner = $2', [
        [...jobIds],
        coordinatorId,
      ])
      for (const jobId of jobIds) held.delete(jobId)
    },

    forget(jobIds) {
      const ids = jobIds ?? [...held.keys()]
      const dropped = ids.filter((jobId) => held.delete(jobId))
      return dropped
    },
  }
  return ownership
}

function checkJobId(jobId: string): void {
  if (typeof jobId !== 'string' || !JOB_ID.test(jobId))
    throw new RangeError(
      `job id ${JSON.stringify(jobId)} must be 1 to 200 printable ASCII characters without spaces`,
    )
}
