import type { JobView } from '@tabswarm/protocol'
import type { CoordinatorApi, JobEvent } from '../coordinator/coordinator-api.ts'

/** One event of a job's stream, ready for SSE (`event`, `id`, `data`) or a WebSocket message. */
export interface FeedEvent {
  event: JobEvent['type']
  /** Highest result seq delivered so far: the cursor a client resumes from. */
  id: string
  data: string
}

export interface JobEventFeedOptions {
  /** Resume after this result seq: results up to it are not sent again. @default 0 */
  after?: number
  signal?: AbortSignal
  /** Results read per page while catching up. @default 256 */
  pageSize?: number
  /** Live events held for a slow reader before the feed ends (the client resumes). @default 10_000 */
  maxPending?: number
  /**
   * `false`: states only (progress and the end), no result events. A client that only waits
   * for the end then neither reads results back from the store nor has them queued toward
   * `maxPending`. @default true
   */
  results?: boolean
}

const isTerminal = (status: JobView['status']) => status !== 'running'

/**
 * A job's events from a cursor on: first the results accepted after `after` (read from the
 * store), then the job's current state, then live events, ending after the terminal state.
 * Subscribes before catching up and drops results it already sent, so nothing accepted in
 * between is lost or sent twice.
 */
export async function* jobEventFeed(
  backend: Pick<CoordinatorApi, 'subscribe' | 'results' | 'getJob'>,
  jobId: string,
  options: JobEventFeedOptions = {},
): AsyncGenerator<FeedEvent> {
  const pageSize = options.pageSize ?? 256
  const maxPending = options.maxPending ?? 10_000
  const withResults = options.results ?? true
  let cursor = options.after ?? 0
  const pending: JobEvent[] = []
  let overflowed = false
  let wake: (() => void) | undefined
  const unsubscribe = backend.subscribe(jobId, (event) => {
    if ((event.type === 'result' || event.type === 'tokens') && !withResults) return
    // Progress is a snapshot: only the newest one waiting matters.
    const last = pending.at(-1)
    if (event.type === 'progress' && last?.type === 'progress') pending[pending.length - 1] = event
    else if (pending.length < maxPending) pending.push(event)
    else overflowed = true
    wake?.()
  })
  const onAbort = () => wake?.()
  options.signal?.addEventListener('abort', onAbort)

  const resultEvent = (result: { seq: number }): FeedEvent => {
    cursor = result.seq
    return { event: 'result', id: String(cursor), data: JSON.stringify(result) }
  }
  const jobEvent = (type: FeedEvent['event'], job: JobView): FeedEvent => ({
    event: type,
    id: String(cursor),
    data: JSON.stringify({ job }),
  })
  async function* catchUp() {
    if (!withResults) return
    for (;;) {
      const page = await backend.results(jobId, { after: cursor, limit: pageSize })
      for (const result of page.results) if (result.seq > cursor) yield resultEvent(result)
      if (page.results.length < pageSize) return
    }
  }

  try {
    yield* catchUp()
    const job = await backend.getJob(jobId)
    if (isTerminal(job.status)) {
      yield* catchUp()
      yield jobEvent(job.status, job)
      return
    }
    yield jobEvent('progress', job)
    while (!options.signal?.aborted) {
      const event = pending.shift()
      if (event == null) {
        if (overflowed) return
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        wake = undefined
        continue
      }
      if (event.type === 'result') {
        if (event.result.seq > cursor) yield resultEvent(event.result)
        continue
      }
      if (event.type === 'tokens') {
        yield { event: 'tokens', id: String(cursor), data: JSON.stringify(event.tokens) }
        continue
      }
      if (isTerminal(event.job.status) || event.type !== 'progress') {
        // Results accepted just before the end may not have been published to us yet.
        yield* catchUp()
        yield jobEvent(event.type, event.job)
        return
      }
      yield jobEvent('progress', event.job)
    }
  } finally {
    unsubscribe()
    options.signal?.removeEventListener('abort', onAbort)
  }
}
