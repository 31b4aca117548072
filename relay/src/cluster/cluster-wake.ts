import pg from 'pg'
import { z } from 'zod'
import { type Logger, silentLogger } from '../log.ts'

/**
 * Waking idle coordinators when something changes elsewhere in the cluster, with
 * PostgreSQL's `LISTEN/NOTIFY`: a coordinator that hands jobs back, or adds tasks to a job,
 * notifies inside its transaction (delivered only when it commits); the others listen on a
 * dedicated connection and look for work at once instead of at their next poll.
 *
 * A notification is a hint, never the truth: it is lost while a listener is disconnected,
 * so the listener polls (a timer) until it is connected again, and wakes once when it
 * reconnects, for whatever it missed.
 */
export const CLUSTER_CHANNEL = 'tabswarm_jobs'

/** PostgreSQL allows 8,000 bytes; our events are a few dozen. */
export const MAX_CLUSTER_PAYLOAD_BYTES = 1_024

const id = z.string().regex(/^[\x21-\x7e]{1,200}$/)

export const clusterEventSchema = z.discriminatedUnion('type', [
  /** A job has tasks to hand out (submitted, or tasks went back to its queue). */
  z.strictObject({ type: z.literal('tasks'), jobId: id }),
  /** A coordinator handed `jobs` jobs back (`release`): anyone may take them now. */
  z.strictObject({ type: z.literal('released'), by: id, jobs: z.number().int().positive() }),
  /** A job ended: who serves its readers may drop it. */
  z.strictObject({ type: z.literal('ended'), jobId: id }),
  /** A relay asked the owner of a job to cancel it (`job_requests`). */
  z.strictObject({ type: z.literal('cancel'), jobId: id }),
  /** Owner `by` published `count` task offers other relays may claim (`task-offers.ts`). */
  z.strictObject({ type: z.literal('offers'), by: id, count: z.number().int().positive() }),
  /** Results, errors, releases or renewals of its offers wait for owner `to`. */
  z.strictObject({ type: z.literal('returns'), to: id }),
  /** Verdicts on its contributors' results wait for relay `to`. */
  z.strictObject({ type: z.literal('verdicts'), to: id }),
  /**
   * A job changed owner: the offers of its last owner were withdrawn, and tasks claimed
   * from them can no longer be recorded (`cluster-node.ts`, on taking a job over).
   */
  z.strictObject({ type: z.literal('moved'), jobId: id }),
  /**
   * Relay `by` has `count` contributors wanting work that no offer on the table could give
   * them: owners with queued tasks offer more (`offer-publisher.ts`).
   */
  z.strictObject({ type: z.literal('wanted'), by: id, count: z.number().int().positive() }),
])

export type ClusterEvent = z.infer<typeof clusterEventSchema>

/** Why a listener woke its owner. */
export type ClusterWake =
  | { reason: 'notify'; event: ClusterEvent }
  /** The polling fallback, while the listener is disconnected. */
  | { reason: 'poll' }
  /** Connected again after a disconnection: notifications may have been missed. */
  | { reason: 'reconnected' }

/**
 * Sends `event` on `client`'s transaction: listeners get it when that transaction commits,
 * and never if it rolls back. On a pool, it is sent at once, on its own.
 */
export async function notifyCluster(
  client: Pick<pg.ClientBase, 'query'> | pg.Pool,
  event: ClusterEvent,
): Promise<void> {
  const payload = JSON.stringify(clusterEventSchema.parse(event))
  if (Buffer.byteLength(payload) > MAX_CLUSTER_PAYLOAD_BYTES)
    throw new RangeError(
      `cluster event of ${Buffer.byteLength(payload)} bytes is over ${MAX_CLUSTER_PAYLOAD_BYTES}: send a count or an id, not a list`,
    )
  await client.query('SELECT pg_notify($1, $2)', [CLUSTER_CHANNEL, payload])
}

/** A notification's payload as a `ClusterEvent`, or undefined when it is not one. */
export function parseClusterEvent(payload: string | undefined): ClusterEvent | undefined {
  if (payload == null || Buffer.byteLength(payload) > MAX_CLUSTER_PAYLOAD_BYTES) return undefined
  let json: unknown
  try {
    json = JSON.parse(payload)
  } catch {
    return undefined
  }
  const parsed = clusterEventSchema.safeParse(json)
  return parsed.success ? parsed.data : undefined
}

export interface ClusterListenerOptions {
  /** The shared database (`postgres://…`). The listener holds one connection of its own. */
  url: string
  /** Called on every wake; exceptions are logged, never thrown into the listener. */
  onWake(wake: ClusterWake): void
  /** Ends the listener (as `close`). */
  signal?: AbortSignal
  /** The polling fallback's period while disconnected. @default 1_000 */
  pollMs?: number
  /** A connected listener checks its connection this often (`SELECT 1`). @default 5_000 */
  heartbeatMs?: number
  /** First wait before reconnecting; doubles up to `maxReconnectMs`. @default 100 */
  reconnectMs?: number
  /** @default 5_000 */
  maxReconnectMs?: number
  /** @default 5_000 */
  connectionTimeoutMs?: number
  log?: Logger
}

export interface ClusterListener {
  /** Whether it is listening now (notifications arrive). */
  readonly connected: boolean
  stats(): {
    notifications: number
    invalid: number
    connects: number
    disconnects: number
    polls: number
  }
  /** Stops listening and polling; resolves once the connection is closed. */
  close(): Promise<void>
}

export function listenCluster(options: ClusterListenerOptions): ClusterListener {
  const pollMs = options.pollMs ?? 1_000
  const heartbeatMs = options.heartbeatMs ?? 5_000
  const minReconnect = options.reconnectMs ?? 100
  const maxReconnect = options.maxReconnectMs ?? 5_000
  const log = options.log ?? silentLogger
  const stop = new AbortController()
  const signal = options.signal ? AbortSignal.any([stop.signal, options.signal]) : stop.signal
  const stats = { notifications: 0, invalid: 0, connects: 0, disconnects: 0, polls: 0 }
  let connected = false
  let pollTimer: NodeJS.Timeout | undefined
  const aborted = new Promise<void>((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  )

  const wake = (w: ClusterWake) => {
    try {
      options.onWake(w)
    } catch (err) {
      log.error('cluster wake handler threw', { err, reason: w.reason })
    }
  }
  const startPolling = () => {
    pollTimer ??= setInterval(() => {
      stats.polls++
      wake({ reason: 'poll' })
    }, pollMs)
  }
  const stopPolling = () => {
    clearInterval(pollTimer)
    pollTimer = undefined
  }

  /** Listens on one connection until it fails or the listener stops. */
  const session = async (): Promise<boolean> => {
    const client = new pg.Client({
      connectionString: options.url,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
      query_timeout: heartbeatMs,
      keepAlive: true,
      application_name: 'tabswarm-listen',
    })
    // A server that goes away emits 'error' (and 'end'): settle, never crash.
    const lost = new Promise<Error>((resolve) => {
      client.on('error', resolve)
      client.on('end', () => resolve(new Error('connection ended')))
    })
    const onAbort = () => void client.end().catch(() => {})
    signal.addEventListener('abort', onAbort, { once: true })
    // Connecting can outlast a stop or a lost server (ending the client mid-connect does not
    // settle `connect`): each step races both.
    const step = async <T>(work: Promise<T>): Promise<T> => {
      const outcome = await Promise.race([
        work.then((value) => ({ value })),
        lost.then((err) => ({ err })),
        aborted.then(() => ({ err: new Error('the cluster listener stopped') })),
      ])
      if ('err' in outcome) throw outcome.err
      return outcome.value
    }
    try {
      await step(client.connect())
      client.on('notification', (msg) => {
        if (msg.channel !== CLUSTER_CHANNEL) return
        const event = parseClusterEvent(msg.payload)
        if (event == null) {
          stats.invalid++
          log.warn('ignored a malformed cluster notification', {
            bytes: msg.payload?.length ?? 0,
          })
          return
        }
        stats.notifications++
        wake({ reason: 'notify', event })
      })
      // The channel is our constant, an identifier: LISTEN takes no bound parameter.
      await step(client.query(`LISTEN ${CLUSTER_CHANNEL}`))
      const reconnected = stats.connects > 0
      stats.connects++
      connected = true
      stopPolling()
      if (reconnected) {
        log.info('cluster listener reconnected')
        wake({ reason: 'reconnected' })
      }
      // A connection can die silently (a partition sends no FIN): check it now and then.
      let beat: NodeJS.Timeout | undefined
      const heartbeatFailed = new Promise<Error>((resolve) => {
        beat = setInterval(() => {
          client.query('SELECT 1').catch((err: Error) => resolve(err))
        }, heartbeatMs)
      })
      const why = await Promise.race([lost, heartbeatFailed, aborted])
      clearInterval(beat)
      if (why instanceof Error) log.warn('cluster listener lost its connection', { err: why })
      return true
    } catch (err) {
      if (!signal.aborted) log.warn('cluster listener cannot connect', { err })
      return false
    } finally {
      if (connected) stats.disconnects++
      connected = false
      signal.removeEventListener('abort', onAbort)
      await client.end().catch(() => {})
    }
  }

  const run = async () => {
    let delay = minReconnect
    while (!signal.aborted) {
      const wasUp = await session()
      if (signal.aborted) break
      startPolling()
      delay = wasUp ? minReconnect : Math.min(delay * 2, maxReconnect)
      let timer: NodeJS.Timeout | undefined
      await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, delay))), aborted])
      clearTimeout(timer)
    }
    stopPolling()
  }

  // Polling covers the time before the first connection too.
  startPolling()
  const done = run().catch((err: unknown) => log.error('cluster listener stopped', { err }))

  return {
    get connected() {
      return connected
    },
    stats: () => ({ ...stats }),
    async close() {
      stop.abort()
      await done
    },
  }
}
