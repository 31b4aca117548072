import { MAX_DIRECTORY_RELAYS, type RelayEntry, RelayEntrySchema } from '@tabswarm/protocol'
import type pg from 'pg'
import type { Logger } from '../log.ts'
import { withTransaction } from '../store/postgres/postgres-pool.ts'

/** How often a relay refreshes its row. */
export const RELAY_HEARTBEAT_MS = 5_000

/** A relay not seen for this long is left out of directories (three missed heartbeats). */
export const RELAY_LIVE_WITHIN_MS = 3 * RELAY_HEARTBEAT_MS

/** Budget of one registry statement, whatever the caller's signal allows. */
const REGISTRY_QUERY_TIMEOUT_MS = 5_000

/** What a relay says of itself in the registry. */
export interface RelaySelf {
  /**
   * This start's id (the coordinator id `job_owners` names), unique per start. A restarted
   * relay registers under a new id and its old row, same peer id, is removed.
   */
  id: string
  /** Its libp2p peer id. */
  peerId: string
  /** Its listen addresses, read at every heartbeat (they may change while it runs). */
  multiaddrs: () => string[]
  /** Its HTTP base URL others can reach, if any. */
  url?: string | undefined
  /**
   * Its contributors online and their measured GFLOP/s, read at every heartbeat: the
   * cluster's public figures sum them over the live relays. @default none (zeros)
   */
  load?: () => { contributors: number; gflops: number }
}

export interface RelayRegistryOptions {
  pool: pg.Pool
  self: RelaySelf
  /** @default Date.now */
  now?: () => number
  /** @default RELAY_HEARTBEAT_MS (5 s) */
  heartbeatMs?: number
  /** @default RELAY_LIVE_WITHIN_MS (15 s) */
  liveWithinMs?: number
  log?: Logger
}

/** The cluster's relays, as the shared database knows them. */
export interface RelayRegistry {
  /** Writes this relay's row (replacing any of its earlier starts) and sets `seen_at`. */
  register(signal?: AbortSignal): Promise<void>
  /** Refreshes `seen_at` and the addresses; registers again if the row went missing. */
  heartbeat(signal?: AbortSignal): Promise<void>
  /** Relays seen within `liveWithinMs`, most recently started first, this one included. */
  live(signal?: AbortSignal): Promise<RelayEntry[]>
  /** The live relays other than this one: the `peers` source of `GET /v1/swarm`. */
  peers(signal?: AbortSignal): Promise<RelayEntry[]>
  /**
   * Registers, then heartbeats every `heartbeatMs` until `signal` aborts, when it removes
   * this relay's row (others stop listing it at once). A failed heartbeat is logged and
   * tried again at the next tick: the database may be restarting.
   */
  run(signal: AbortSignal): Promise<void>
  /** Removes this relay's row. */
  deregister(signal?: AbortSignal): Promise<void>
}

interface RelayRow {
  peer_id: string
  multiaddrs: unknown
  http_url: string | null
}

/**
 * Each relay/coordinator on a shared PostgreSQL registers itself in `relays` (migration 4)
 * and heartbeats; `live()` is what a directory lists. Liveness is by `seen_at` within a
 * bound, compared on the reading relay's clock: relays' clocks must agree to within a
 * fraction of `liveWithinMs` (NTP does far better).
 *
 * @example
 * const registry = createRelayRegistry({ pool, self: { id, peerId, multiaddrs, url } })
 * void registry.run(shutdown.signal)
 * createApi({ ..., peers: registry.peers })
 */
export function createRelayRegistry(options: RelayRegistryOptions): RelayRegistry {
  const { pool, self } = options
  const now = options.now ?? Date.now
  const heartbeatMs = options.heartbeatMs ?? RELAY_HEARTBEAT_MS
  const liveWithinMs = options.liveWithinMs ?? RELAY_LIVE_WITHIN_MS
  const startedAt = now()

  const bounded = (signal?: AbortSignal) => {
    const timeout = AbortSignal.timeout(REGISTRY_QUERY_TIMEOUT_MS)
    return { signal: signal ? AbortSignal.any([signal, timeout]) : timeout }
  }
  const addrs = () => JSON.stringify(self.multiaddrs().slice(0, 16))
  const load = () => self.load?.() ?? { contributors: 0, gflops: 0 }

  const register = async (signal?: AbortSignal) => {
    await withTransaction(
      pool,
      async (client) => {
        await client.query('DELETE FROM relays WHERE peer_id = $1 AND id <> $2', [
          self.peerId,
          self.id,
        ])
        const { contributors, gflops } = load()
        await client.query(
          `INSERT INTO relays (id, peer_id, multiaddrs, http_url, seen_at, started_at, contributors, gflops)
           VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO UPDATE SET multiaddrs = EXCLUDED.multiaddrs,
             http_url = EXCLUDED.http_url, seen_at = EXCLUDED.seen_at,
             contributors = EXCLUDED.contributors, gflops = EXCLUDED.gflops`,
          [self.id, self.peerId, addrs(), self.url ?? null, now(), startedAt, contributors, gflops],
        )
      },
      bounded(signal),
    )
  }

  const heartbeat = async (signal?: AbortSignal) => {
    const updated = await withTransaction(
      pool,
      (client) =>
        client.query(
          `UPDATE relays SET seen_at = $2, multiaddrs = $3::jsonb, contributors = $4, gflops = $5
           WHERE id = $1`,
          [self.id, now(), addrs(), load().contributors, load().gflops],
        ),
      bounded(signal),
    )
    // Removed meanwhile (an operator cleaned the table up): put it back.
    if (updated.rowCount === 0) await register(signal)
  }

  const live = async (signal?: AbortSignal): Promise<RelayEntry[]> => {
    const { rows } = await withTransaction(
      pool,
      (client) =>
        client.query<RelayRow>(
          `SELECT peer_id, multiaddrs, http_url FROM relays
           WHERE seen_at >= $1 ORDER BY started_at DESC, id LIMIT $2`,
          [now() - liveWithinMs, MAX_DIRECTORY_RELAYS * 2],
        ),
      bounded(signal),
    )
    const entries: RelayEntry[] = []
    for (const row of rows) {
      if (entries.some((e) => e.peerId === row.peer_id)) continue
      // Another relay wrote it: checked like anything else from outside.
      const parsed = RelayEntrySchema.safeParse({
        peerId: row.peer_id,
        multiaddrs: row.multiaddrs,
        ...(row.http_url != null ? { url: row.http_url } : {}),
      })
      if (parsed.success) entries.push(parsed.data)
      else options.log?.warn('relay registry row ignored', { peerId: row.peer_id })
    }
    return entries.slice(0, MAX_DIRECTORY_RELAYS)
  }

  const deregister = async (signal?: AbortSignal) => {
    await withTransaction(
      pool,
      (client) => client.query('DELETE FROM relays WHERE id = $1', [self.id]),
      bounded(signal),
    )
  }

  return {
    register,
    heartbeat,
    live,
    async peers(signal) {
      return (await live(signal)).filter((entry) => entry.peerId !== self.peerId)
    },
    deregister,
    async run(signal) {
      let registered = false
      while (!signal.aborted) {
        try {
          if (registered) await heartbeat(signal)
          else await register(signal)
          registered = true
        } catch (err) {
          if (signal.aborted) break
          options.log?.warn('relay heartbeat failed, trying again', {
            error: (err as Error).message,
            retryInMs: heartbeatMs,
          })
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, heartbeatMs)
          function done() {
            clearTimeout(timer)
            signal.removeEventListener('abort', done)
            resolve()
          }
          signal.addEventListener('abort', done, { once: true })
        })
      }
      // Leaving: a fresh signal, since `signal` is the one that just aborted.
      await deregister().catch((err: Error) =>
        options.log?.warn('relay not deregistered; others drop it once it stops heartbeating', {
          error: err.message,
        }),
      )
    },
  }
}

/**
 * The peer ids of the cluster's other live relays, read at most once per `maxAgeMs`: what
 * the API's signature check accepts beside this relay's own id.
 */
export function cachedPeerIds(
  registry: Pick<RelayRegistry, 'peers'>,
  maxAgeMs = 2_000,
): () => Promise<ReadonlySet<string>> {
  let cached: { at: number; ids: Promise<ReadonlySet<string>> } | undefined
  return () => {
    const now = Date.now()
    if (cached == null || now - cached.at > maxAgeMs) {
      const ids = registry
        .peers(AbortSignal.timeout(2_000))
        .then((entries) => new Set(entries.map((e) => e.peerId)) as ReadonlySet<string>)
      cached = { at: now, ids }
      // A failed read is not kept: the next request reads again.
      ids.catch(() => {
        if (cached?.ids === ids) cached = undefined
      })
    }
    return cached.ids
  }
}

/**
 * Contributors online across the live relays of the cluster, and their measured GFLOP/s:
 * what each relay last wrote with its heartbeat.
 */
export async function clusterLoad(
  pool: pg.Pool,
  signal?: AbortSignal,
  liveWithinMs = RELAY_LIVE_WITHIN_MS,
): Promise<{ contributors: number; gflops: number }> {
  const { rows } = await withTransaction(
    pool,
    (client) =>
      client.query<{ contributors: number; gflops: number }>(
        `SELECT COALESCE(sum(contributors), 0)::int AS contributors,
                COALESCE(sum(gflops), 0)::float8 AS gflops
         FROM relays WHERE seen_at >= $1`,
        [Date.now() - liveWithinMs],
      ),
    signal != null ? { signal } : {},
  )
  return { contributors: rows[0]?.contributors ?? 0, gflops: rows[0]?.gflops ?? 0 }
}
