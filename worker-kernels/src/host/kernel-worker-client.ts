import type { TabswarmError } from '@tabswarm/protocol'
import { proxy } from 'comlink'
import { DEFAULT_DEVICE_ACQUIRE_TIMEOUT_MS, DEFAULT_KERNEL_TIMEOUT_MS } from '../constants.ts'
import { KernelAbortedError, KernelTimeoutError } from '../errors.ts'
import type { KernelRequest, KernelResultOf } from '../kernels/kernel-request.ts'
import { assertTimeoutMs, createCallDeadline, MAX_TIMEOUT_MS } from './call-deadline.ts'
import type { KernelRunner } from './kernel-runner.ts'
import type {
  DeviceLostDetails,
  HostInfo,
  KernelRunOptions,
  KernelWorkerCallOptions,
} from './kernel-types.ts'

/**
 * How much longer than a call's own deadline the page waits for the worker: the worker
 * rejects with its own `KernelTimeoutError` first; the page's deadline is for a worker
 * that died, hung or was terminated and will never answer.
 */
export const DEFAULT_WORKER_GRACE_MS = 5_000

/**
 * The part of comlink's `Remote<KernelWorkerApi>` the client uses, written out so tests
 * can pass a fake and comlink's generics do not leak into callers.
 */
export type KernelWorkerRemote = {
  init(): Promise<HostInfo>
  run(request: KernelRequest, options?: KernelWorkerCallOptions): Promise<unknown>
  cancel(callId: string): Promise<boolean>
  setDeviceLostListener(listener: ((details: DeviceLostDetails) => void) | undefined): Promise<void>
}

/** Options of `createKernelWorkerClient`. */
export type KernelWorkerClientOptions = {
  /** `wrap<KernelWorkerApi>(worker)`; the page must have called `registerErrorTransferHandler()`. */
  remote: KernelWorkerRemote
  /**
   * Told when the worker's device is lost. The call in flight rejects with
   * `DeviceLostError`; the next call gets a new device.
   */
  onDeviceLost?: (details: DeviceLostDetails) => void
  /**
   * Deadline of calls that name none, sent to the worker as theirs.
   * @default DEFAULT_KERNEL_TIMEOUT_MS (60 s)
   */
  timeoutMs?: number
  /**
   * Extra milliseconds the page waits past a call's deadline before it gives up on the
   * worker itself.
   * @default DEFAULT_WORKER_GRACE_MS (5 s)
   */
  graceMs?: number
}

/**
 * The page's side of a kernel worker: a `KernelRunner` whose every call is bounded and
 * cancellable. Aborting a call's `signal` rejects it at once with `KernelAbortedError` and
 * cancels it in the worker; a worker that does not answer within the call's `timeoutMs`
 * plus the grace period is given up on with `KernelTimeoutError`.
 */
export type KernelWorkerClient = KernelRunner & {
  /**
   * Acquire the worker's GPU and describe it; registers `onDeviceLost` first. Bounded by
   * `timeoutMs` (default: the device acquisition timeout) plus the grace period.
   */
  init(options?: KernelRunOptions): Promise<HostInfo>
  /** Calls started and not yet settled. */
  readonly pending: number
  /**
   * Reject every pending and later call with `reason` (default `KernelAbortedError`),
   * e.g. when the worker is terminated: its calls would otherwise never settle.
   */
  close(reason?: TabswarmError): void
}

/**
 * Wrap a kernel worker's comlink remote for use from a page. comlink gives a call no
 * deadline, so a worker that dies mid-call would leave the caller waiting forever; an
 * `AbortSignal` cannot cross `postMessage`. This client adds both: each call carries a
 * `callId` the worker can cancel, and the page keeps its own deadline.
 *
 * @example
 * registerErrorTransferHandler()
 * const worker = new Worker(url, { type: 'module' })
 * const client = createKernelWorkerClient({ remote: wrap<KernelWorkerApi>(worker) })
 * const c = await client.run({ kernel: 'matmul', a, b, m, k, n }, { signal, timeoutMs: 10_000 })
 */
export function createKernelWorkerClient(options: KernelWorkerClientOptions): KernelWorkerClient {
  const { remote, onDeviceLost } = options
  const defaultTimeoutMs = options.timeoutMs ?? DEFAULT_KERNEL_TIMEOUT_MS
  const graceMs = options.graceMs ?? DEFAULT_WORKER_GRACE_MS
  assertTimeoutMs(defaultTimeoutMs)
  if (!(graceMs >= 0 && graceMs <= MAX_TIMEOUT_MS)) {
    throw new RangeError(`graceMs must be from 0 to ${MAX_TIMEOUT_MS}, got ${graceMs}.`)
  }
  const prefix = Math.random().toString(36).slice(2, 10)
  let nextCall = 0
  let closedWith: TabswarmError | undefined
  const pending = new Set<(err: TabswarmError) => void>()
  let listening: Promise<void> | undefined

  /**
   * Start `start` with a fresh call id and settle by whichever comes first: its answer,
   * the page's deadline (the worker's plus the grace period), the signal, or `close()`.
   */
  const call = async <T>(
    what: string,
    runOptions: KernelRunOptions,
    fallbackTimeoutMs: number,
    start: (callOptions: KernelWorkerCallOptions) => Promise<T>,
  ): Promise<T> => {
    if (closedWith) throw closedWith
    const timeoutMs = runOptions.timeoutMs ?? fallbackTimeoutMs
    assertTimeoutMs(timeoutMs)
    const pageTimeoutMs =
      timeoutMs === Number.POSITIVE_INFINITY
        ? timeoutMs
        : Math.min(timeoutMs + graceMs, MAX_TIMEOUT_MS)
    const deadline = createCallDeadline({
      signal: runOptions.signal,
      timeoutMs: pageTimeoutMs,
      timeoutError: () =>
        new KernelTimeoutError(
          `The kernel worker did not answer ${what} within ${pageTimeoutMs} ms (its own deadline was ${timeoutMs} ms).`,
          { details: 'The worker may have died, hung or been terminated.' },
        ),
    })
    let closeCall: (err: TabswarmError) => void = () => {}
    const closed = new Promise<never>((_, reject) => {
      closeCall = reject
    })
    pending.add(closeCall)
    const callId = `${prefix}-${nextCall++}`
    let started = false
    try {
      // An already-aborted signal sends nothing to the worker.
      deadline.throwIfCancelled()
      const answer = start({
        timeoutMs,
        callId,
        ...(runOptions.gpuShare === undefined ? {} : { gpuShare: runOptions.gpuShare }),
      })
      started = true
      return await deadline.race(Promise.race([answer, closed]))
    } catch (err) {
      // The page stopped waiting, not the worker: tell it to drop the call, in case it
      // is merely slow. (A call that failed in the worker is already gone there.)
      if (started && deadline.cancelled) remote.cancel(callId).catch(() => {})
      throw err
    } finally {
      pending.delete(closeCall)
      deadline.dispose()
    }
  }

  const listen = (): Promise<void> => {
    if (!onDeviceLost) return Promise.resolve()
    listening ??= remote
      .setDeviceLostListener(
        proxy((details: DeviceLostDetails) => {
          onDeviceLost(details)
        }),
      )
      .catch((err: unknown) => {
        listening = undefined
        throw err
      })
    return listening
  }

  const run = <R extends KernelRequest>(
    request: R,
    runOptions: KernelRunOptions = {},
  ): Promise<KernelResultOf<R>> =>
    call(`a ${String(request.kernel)} call`, runOptions, defaultTimeoutMs, (callOptions) =>
      remote.run(request, callOptions),
    ) as Promise<KernelResultOf<R>>

  return {
    init(runOptions = {}) {
      return call('init()', runOptions, DEFAULT_DEVICE_ACQUIRE_TIMEOUT_MS, async () => {
        await listen()
        return remote.init()
      })
    },
    run,
    get pending() {
      return pending.size
    },
    close(reason = new KernelAbortedError('The kernel worker was closed.')) {
      closedWith ??= reason
      for (const closeCall of [...pending]) closeCall(closedWith)
    },
  }
}
