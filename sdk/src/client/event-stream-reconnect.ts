import { MAX_EVENT_STREAM_BACKOFF_MS } from '../constants.ts'
import { RelayUnreachableError } from './client-errors.ts'
import { delay } from './delay.ts'

/** How an event stream comes back after its connection ends. */
export interface ReconnectPolicy {
  /** The relay's base URL, for the error that gives up. */
  base: string
  /** Pause after a connection that delivered events, and the first step of the backoff. */
  reconnectDelayMs: number
  /** Connections in a row that deliver nothing before giving up. */
  maxRetries: number
  signal: AbortSignal | undefined
}

/**
 * The pause before an event stream reconnects, shared by every stream the client follows
 * (a job's events, an inference job's tokens). A connection that delivered events and then
 * closed cleanly (a relay restart, a reader too slow for the job) comes back after
 * `reconnectDelayMs`, so a relay that closes at once is not hammered; one that delivered
 * nothing, or failed, counts toward giving up, with an exponential backoff capped at
 * `MAX_EVENT_STREAM_BACKOFF_MS`. Resolves to the failures in a row so far, or throws
 * `RelayUnreachableError` past `maxRetries`.
 *
 * @example
 * failures = await pauseBeforeReconnect(failures, { problem, delivered }, policy)
 */
export async function pauseBeforeReconnect(
  failures: number,
  connection: { problem: unknown; delivered: boolean },
  policy: ReconnectPolicy,
): Promise<number> {
  const { problem, delivered } = connection
  if (problem == null && delivered) {
    await delay(policy.reconnectDelayMs, policy.signal)
    return failures
  }
  const next = failures + 1
  if (next > policy.maxRetries)
    throw problem instanceof RelayUnreachableError
      ? problem
      : new RelayUnreachableError(
          policy.base,
          problem ?? new Error('the job event stream keeps closing'),
        )
  await delay(
    Math.min(policy.reconnectDelayMs * 2 ** (next - 1), MAX_EVENT_STREAM_BACKOFF_MS),
    policy.signal,
  )
  return next
}
