import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { WSEvents } from 'hono/ws'
import type { CoordinatorApi } from '../coordinator/coordinator-api.ts'
import type { Logger } from '../log.ts'
import { type FeedEvent, jobEventFeed } from './job-event-feed.ts'

export interface JobStreamOptions {
  jobs: Pick<CoordinatorApi, 'subscribe' | 'results' | 'getJob'>
  jobId: string
  /** Result seq to resume after. */
  after: number
  /** `false`: progress and the end only, no result events. @default true */
  results?: boolean
  heartbeatMs: number
  log: Logger
  /** Told when the stream opens (+1) and ends (-1), for the open-streams gauge. */
  onOpenChange?: (delta: 1 | -1) => void
  /** WebSocket: bytes queued to a client before sending waits for it to drain. @default 4 MiB */
  maxBufferedBytes?: number
  /** WebSocket: how long a client may take to drain before it is closed (1013). @default 30_000 */
  drainTimeoutMs?: number
}

/**
 * Resolves true once the socket has at most `max` bytes queued, false when it has not
 * drained within `timeoutMs` or `signal` aborted. `ws` (the library under hono's adapter)
 * queues whatever `send` is given; without this a slow reader would grow it without bound.
 */
async function drained(
  raw: { bufferedAmount?: number } | undefined,
  max: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while ((raw?.bufferedAmount ?? 0) > max) {
    if (signal.aborted || Date.now() >= deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return true
}

/**
 * A job's events as server-sent events: `event:` is the type, `id:` the result cursor a
 * reconnecting client sends back as Last-Event-ID, `data:` JSON. Idle streams get a comment
 * line every `heartbeatMs` so proxies and clients see the connection alive.
 */
export function jobEventsOverSse(c: Context, options: JobStreamOptions): Response {
  return streamSSE(
    c,
    async (stream) => {
      const abort = new AbortController()
      stream.onAbort(() => abort.abort())
      options.onOpenChange?.(1)
      const heartbeat = setInterval(() => {
        stream.write(': heartbeat\n\n').catch(() => abort.abort())
      }, options.heartbeatMs)
      try {
        for await (const event of jobEventFeed(options.jobs, options.jobId, {
          after: options.after,
          results: options.results ?? true,
          signal: abort.signal,
        })) {
          await stream.writeSSE(event)
        }
      } finally {
        clearInterval(heartbeat)
        options.onOpenChange?.(-1)
      }
    },
    async (err) => {
      options.log.warn('event stream ended by an error', { job: options.jobId, error: err })
    },
  )
}

/**
 * The same events over a WebSocket, one JSON message `{ event, id, data }` each, plus
 * `{ event: 'heartbeat' }` when idle. The server closes with 1000 after the terminal event;
 * messages from the client are ignored.
 */
export function jobEventsOverWebSocket(options: JobStreamOptions): WSEvents {
  const abort = new AbortController()
  let heartbeat: ReturnType<typeof setInterval> | undefined
  return {
    onOpen(_event, ws) {
      heartbeat = setInterval(() => ws.send('{"event":"heartbeat"}'), options.heartbeatMs)
      options.onOpenChange?.(1)
      void (async () => {
        let last: FeedEvent | undefined
        try {
          const raw = ws.raw as { bufferedAmount?: number } | undefined
          const maxBuffered = options.maxBufferedBytes ?? 4 * 1024 ** 2
          for await (const event of jobEventFeed(options.jobs, options.jobId, {
            after: options.after,
            results: options.results ?? true,
            signal: abort.signal,
          })) {
            if (
              !(await drained(raw, maxBuffered, options.drainTimeoutMs ?? 30_000, abort.signal))
            ) {
              if (abort.signal.aborted) return
              ws.close(1013, `too far behind; reconnect with ?after=${last?.id ?? options.after}`)
              return
            }
            last = event
            ws.send(
              JSON.stringify({ event: event.event, id: event.id, data: JSON.parse(event.data) }),
            )
          }
          if (abort.signal.aborted) return
          if (last == null || last.event === 'result' || last.event === 'progress') {
            // The feed gave up on a reader too slow for the job: come back from the cursor.
            ws.close(1013, `too far behind; reconnect with ?after=${last?.id ?? options.after}`)
          } else ws.close(1000, 'job finished')
        } catch (err) {
          options.log.warn('event socket ended by an error', { job: options.jobId, error: err })
          ws.close(1011, 'internal error')
        } finally {
          clearInterval(heartbeat)
          options.onOpenChange?.(-1)
        }
      })()
    },
    onClose() {
      abort.abort()
      clearInterval(heartbeat)
    },
  }
}
