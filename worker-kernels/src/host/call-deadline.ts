import type { TabswarmError } from '@tabswarm/protocol'
import { KernelAbortedError, KernelTimeoutError } from '../errors.ts'

/** Options of `createCallDeadline`. */
export type CallDeadlineOptions = {
  signal?: AbortSignal | undefined
  /**
   * Milliseconds until the call rejects with `KernelTimeoutError`: a positive number up
   * to `MAX_TIMEOUT_MS`, or `Infinity` for no deadline (the signal still applies).
   */
  timeoutMs: number
  /**
   * The error the call rejects with once `timeoutMs` passes, for callers that can say
   * more than the default (which step, whose deadline).
   * @default a `KernelTimeoutError` naming the deadline
   */
  timeoutError?: () => TabswarmError
}

/**
 * Longest finite deadline: timers hold a signed 32-bit millisecond count, and a longer
 * delay is silently clamped to 1 ms, which would time every call out at once.
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1

/** The deadline of one call: every await of the call goes through `race`. */
export type CallDeadline = {
  /**
   * Settle with `work`, unless the deadline passes or the signal aborts first: then
   * reject with `KernelTimeoutError`/`KernelAbortedError`. Throws at once if that
   * already happened, so no new work starts after a cancellation.
   */
  race<T>(work: Promise<T>): Promise<T>
  /** Throw the cancellation error if the call was cancelled; use between sync steps. */
  throwIfCancelled(): void
  /** The error the call was cancelled with (deadline or signal), once it was. */
  readonly cancelled: TabswarmError | undefined
  /** Stop the timer and detach from the signal. Call in `finally`. */
  dispose(): void
}

/**
 * Throw a `RangeError` unless `timeoutMs` is a positive number of milliseconds up to
 * `MAX_TIMEOUT_MS`, or `Infinity`.
 */
export function assertTimeoutMs(timeoutMs: number, name = 'timeoutMs'): void {
  if (!(timeoutMs > 0) || (timeoutMs > MAX_TIMEOUT_MS && timeoutMs !== Number.POSITIVE_INFINITY)) {
    throw new RangeError(
      `${name} must be a positive number of milliseconds up to ${MAX_TIMEOUT_MS}, or Infinity for no deadline; got ${timeoutMs}.`,
    )
  }
}

/**
 * The error a call rejects with when its signal aborts: `KernelTimeoutError` for
 * `AbortSignal.timeout()` (a DOMException named TimeoutError), else `KernelAbortedError`.
 */
export function errorFromAbort(reason: unknown): TabswarmError {
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new KernelTimeoutError('Kernel call timed out (signal).', { cause: reason })
  }
  return new KernelAbortedError('Kernel call was aborted.', { cause: reason })
}

/**
 * Start the deadline of one kernel call. WebGPU cannot cancel submitted work, so a
 * cancelled call stops waiting, frees what it allocated and drops the late result.
 */
export function createCallDeadline({
  signal,
  timeoutMs,
  timeoutError = () => new KernelTimeoutError(`Kernel call exceeded its ${timeoutMs} ms deadline.`),
}: CallDeadlineOptions): CallDeadline {
  assertTimeoutMs(timeoutMs)
  let cancelled: TabswarmError | undefined
  let reject: (err: TabswarmError) => void = () => {}
  const cancellation = new Promise<never>((_, rej) => {
    reject = rej
  })
  // Nobody may be racing at the moment it fires; that is not an unhandled failure.
  cancellation.catch(() => {})

  const cancel = (err: TabswarmError): void => {
    if (cancelled) return
    cancelled = err
    reject(err)
  }
  const onAbort = (): void => cancel(errorFromAbort(signal?.reason))
  if (signal?.aborted) onAbort()
  else signal?.addEventListener('abort', onAbort, { once: true })
  const timer =
    timeoutMs === Number.POSITIVE_INFINITY
      ? undefined
      : setTimeout(() => cancel(timeoutError()), timeoutMs)

  return {
    race<T>(work: Promise<T>): Promise<T> {
      if (cancelled) {
        work.catch(() => {})
        return Promise.reject(cancelled)
      }
      return Promise.race([work, cancellation])
    },
    throwIfCancelled(): void {
      if (cancelled) throw cancelled
    },
    get cancelled() {
      return cancelled
    },
    dispose(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    },
  }
}
