import type pg from 'pg'
import { runQuery } from '../store/postgres/postgres-query.ts'

/**
 * Leadership of one cluster-wide duty (the settlement epoch closer: one root per epoch, one
 * chain nonce) among the coordinators sharing a PostgreSQL, under a row of `leader_leases`
 * (migration 2): holder, fencing token, expiry.
 *
 * - `acquire` takes the lease when it is free or lapsed, bumping the fencing token, or
 *   extends it when this coordinator holds it already (same token).
 * - `renew` extends it; it fails, and this coordinator stops leading, once another took it.
 * - Expiries are on the database's clock, the one clock all coordinators share, so no
 *   coordinator's clock skew shortens or stretches a lease. Locally, `isLeader()` counts
 *   `leaseMs` from the moment each renewal was *sent*: it turns false no later than the
 *   database lets another take over.
 * - A lapsed lease alone does not stop a paused leader from writing once it wakes: every
 *   write of the duty runs `fence(client)` first, in its own transaction, which fails unless
 *   this coordinator still holds the lease at its token (and locks the row, so a takeover
 *   waits for that transaction to end).
 */
export interface LeaderLease {
  readonly name: string
  readonly coordinatorId: string
  /** Takes (or keeps) the lease. Returns its fencing token, or undefined when another holds it. */
  acquire(signal?: AbortSignal): Promise<bigint | undefined>
  /** Extends a held lease; false (and no longer leader) when it was lost. */
  renew(signal?: AbortSignal): Promise<boolean>
  /** Gives the lease up at once, so another coordinator need not wait for it to lapse. */
  release(signal?: AbortSignal): Promise<void>
  /** Whether this coordinator holds the lease, by its own count of `leaseMs`. */
  isLeader(): boolean
  /** The fencing token held, if any. */
  token(): bigint | undefined
  /**
   * Inside the caller's transaction: locks the lease row (`FOR SHARE`) and throws
   * `LeaderFencedError` unless this coordinator holds it at its token.
   */
  fence(client: pg.ClientBase): Promise<void>
  /** Tries to acquire, then renews, every `renewMs`, until `stop`. */
  start(): void
  /** Stops the loop and releases the lease. */
  stop(signal?: AbortSignal): Promise<void>
}

export interface LeaderLeaseOptions {
  /** The duty's name, e.g. 'epoch-closer': 1-200 characters. */
  name: string
  /** This coordinator's id: unique per start. */
  coordinatorId: string
  /** How long a lease lasts after its last renewal. @default 15_000 */
  leaseMs?: number
  /** How often the loop of `start` renews; well under `leaseMs`. @default leaseMs / 3 */
  renewMs?: number
  /** Called when this coordinator becomes or stops being the leader. */
  onChange?: (leader: boolean) => void
  /** Called with an error of the `start` loop (it keeps trying). */
  onError?: (err: Error) => void
  /** Bound of each statement of the `start` loop. @default leaseMs / 2 */
  timeoutMs?: number
}

/** A write refused because this coordinator no longer leads. */
export class LeaderFencedError extends Error {
  readonly lease: string
  constructor(lease: string, message: string) {
    super(message)
    this.name = 'LeaderFencedError'
    this.lease = lease
  }
}

/** The database's clock, in ms since the Unix epoch. */
const DB_NOW_MS = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint'

export function createLeaderLease(pool: pg.Pool, options: LeaderLeaseOptions): LeaderLease {
  const { name, coordinatorId } = options
  const leaseMs = options.leaseMs ?? 15_000
  const renewMs = options.renewMs ?? Math.floor(leaseMs / 3)
  const timeoutMs = options.timeoutMs ?? Math.max(1, Math.floor(leaseMs / 2))
  if (name.length < 1 || name.length > 200)
    throw new RangeError(`a lease name is 1-200 characters, got ${JSON.stringify(name)}`)
  if (coordinatorId.length < 1)
    throw new RangeError('coordinatorId must be a non-empty id, unique per start')
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 1)
    throw new RangeError(`leaseMs must be a positive whole number of ms, got ${leaseMs}`)
  if (!Number.isSafeInteger(renewMs) || renewMs < 1 || renewMs >= leaseMs)
    throw new RangeError(
      `renewMs must be a positive whole number of ms under leaseMs (${leaseMs}), got ${renewMs}: a lease renewed less often than it lasts lapses between renewals`,
    )

  let held: bigint | undefined
  /** `performance.now()` past which this coordinator no longer counts on the lease. */
  let validUntil = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let running = false
  let ticking: Promise<void> | undefined
  let leading = false

  const notify = () => {
    const now = lease.isLeader()
    if (now !== leading) {
      leading = now
      options.onChange?.(now)
    }
  }
  const lose = () => {
    held = undefined
    validUntil = 0
    notify()
  }

  const lease: LeaderLease = {
    name,
    coordinatorId,

    async acquire(signal) {
      const sentAt = performance.now()
      const { rows } = await runQuery<{ token: bigint }>(
        pool,
        `INSERT INTO leader_leases AS l (name, owner, token, expires_at)
         VALUES ($1, $2, 1, ${DB_NOW_MS} + $3)
         ON CONFLICT (name) DO UPDATE SET
           token = CASE WHEN l.owner = EXCLUDED.owner THEN l.token ELSE l.token + 1 END,
           owner = EXCLUDED.owner,
           expires_at = EXCLUDED.expires_at
         WHERE l.owner = EXCLUDED.owner OR l.expires_at <= ${DB_NOW_MS}
         RETURNING token`,
        [name, coordinatorId, leaseMs],
        signal != null ? { signal } : {},
      )
      const token = rows[0]?.token
      if (token == null) {
        lose()
        return undefined
      }
      held = token
      validUntil = sentAt + leaseMs
      notify()
      return token
    },

    async renew(signal) {
      if (held == null) return false
      const sentAt = performance.now()
      const { rowCount } = await runQuery(
        pool,
        `UPDATE leader_leases SET expires_at = ${DB_NOW_MS} + $3
         WHERE name = $1 AND owner = $2 AND token = $4`,
        [name, coordinatorId, leaseMs, held],
        signal != null ? { signal } : {},
      )
      if (rowCount !== 1) {
        lose()
        return false
      }
      validUntil = sentAt + leaseMs
      notify()
      return true
    },

    async release(signal) {
      const token = held
      lose()
      if (token == null) return
      // The row and its token stay: the next holder's token is still higher than ours.
      await runQuery(
        pool,
        'UPDATE leader_leases SET expires_at = 0 WHERE name = $1 AND owner = $2 AND token = $3',
        [name, coordinatorId, token],
        signal != null ? { signal } : {},
      )
    },

    isLeader: () => held != null && performance.now() < validUntil,

    token: () => held,

    async fence(client) {
      const token = held
      if (token == null)
        throw new LeaderFencedError(
          name,
          `coordinator ${coordinatorId} does not hold the ${name} lease: only its leader may write this`,
        )
      const { rows } = await runQuery<{ owner: string; token: bigint }>(
        client,
        'SELECT owner, token FROM leader_leases WHERE name = $1 FOR SHARE',
        [name],
      )
      const row = rows[0]
      if (row?.owner !== coordinatorId || row.token !== token) {
        lose()
        throw new LeaderFencedError(
          name,
          `coordinator ${coordinatorId} lost the ${name} lease (token ${token}) to ${row?.owner ?? 'nobody'} (token ${row?.token ?? 'none'}): the write is refused, the new leader redoes it`,
        )
      }
    },

    start() {
      if (running) return
      running = true
      const tick = async () => {
        try {
          const signal = AbortSignal.timeout(timeoutMs)
          if (held == null || !(await lease.renew(signal))) await lease.acquire(signal)
        } catch (err) {
          // A database out of reach: stop counting on the lease once its time is up.
          notify()
          options.onError?.(err as Error)
        }
        if (running) timer = setTimeout(schedule, renewMs)
      }
      const schedule = () => {
        ticking = tick()
      }
      schedule()
    },

    async stop(signal) {
      running = false
      clearTimeout(timer)
      // A renewal in flight must not take the lease back after the release.
      await ticking
      await lease.release(signal)
    },
  }
  return lease
}
