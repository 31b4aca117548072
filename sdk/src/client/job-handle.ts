import {
  type JobDetail,
  type JobView,
  type NdArray,
  sha256Hex,
  type TaskResultRecord,
  type TensorRef,
  tensorByteLength,
  type VerificationMethod,
  viewAs,
} from '@tabswarm/protocol'
import {
  BLOB_TRANSFER_TIMEOUT_MS,
  EVENT_STREAM_IDLE_TIMEOUT_MS,
  EVENT_STREAM_RECONNECT_MS,
  MAX_EVENT_STREAM_RETRIES,
} from '../constants.ts'
import { cancelAfterAbort } from './cancel-after-abort.ts'
import {
  ApiRequestError,
  BlobIntegrityError,
  JobAbortedError,
  JobFailedError,
  RelayResponseError,
} from './client-errors.ts'
import { pauseBeforeReconnect } from './event-stream-reconnect.ts'
import type { Transport } from './http-transport.ts'
import { readServerSentEvents, type ServerSentEvent } from './server-sent-events.ts'

/** One verified task result, in the order the coordinator accepted them. */
export interface JobResult<Output = NdArray> {
  /**
   * Position in the job's publication order (increasing, with gaps); `results({ after: seq })`
   * resumes after it. A result accepted on one contributor's credibility alone is published
   * only once the coordinator confirmed it, so no result is ever withdrawn after it arrives.
   */
  seq: number
  taskId: string
  /** Index of the task in the job spec (custom jobs), or the tile number (matmul). */
  index: number
  outputs: Output[]
  /** How the coordinator verified it. */
  method: VerificationMethod
  acceptedAt: number
}

export interface WaitOptions {
  signal?: AbortSignal | undefined
  /** Gives up (and cancels the job) after this long. @default no limit beyond the signal */
  timeoutMs?: number | undefined
  /**
   * Called with the job's state each time it changes. A running job's `waiting` says what it
   * waits for (no contributors online, a second opinion, busy contributors…); a new state
   * arrives when that changes, even if no task moved.
   */
  onProgress?: ((job: JobView) => void) | undefined
}

/** How `results` and `resultRefs` follow a job. */
export interface ResultsOptions {
  signal?: AbortSignal | undefined
  /** Resume after this result seq: results up to it are not sent again. @default 0 */
  after?: number
  /**
   * Called with the job's state each time it changes, the terminal state last: what a
   * finished job spent and refunded, without asking again. While it runs, `waiting` says what
   * it waits for (see `JobView.waiting`).
   */
  onProgress?: ((job: JobView) => void) | undefined
}

/** A submitted job: its progress, its verified results as they arrive, and a way to stop it. */
export interface JobHandle {
  readonly id: string
  /**
   * The job as the relay accepted it (its tasks, the budget escrowed), on the handle that
   * `client.submit` returned; undefined on one from `client.job(id)`.
   */
  readonly submitted?: JobView | undefined
  /**
   * The job's current state: one request.
   *
   * @example
   * const { status, tasks, credits } = await job.status()
   */
  status(options?: { signal?: AbortSignal | undefined }): Promise<JobView>
  /**
   * The job in detail: tasks by state, verification outcomes, timings, throughput and recent
   * history (`GET /v1/jobs/:id/detail`).
   *
   * @example
   * const { tasks, verification, throughput } = await job.detail()
   */
  detail(options?: { signal?: AbortSignal | undefined }): Promise<JobDetail>
  /**
   * The job's state each time it changes, ending with the terminal state (completed,
   * failed or cancelled). Follows the relay's event stream, reconnecting when it drops.
   *
   * @example
   * for await (const job of handle.progress()) console.log(`${job.tasks.accepted}/${job.tasks.total}`)
   */
  progress(options?: { signal?: AbortSignal | undefined }): AsyncGenerator<JobView>
  /**
   * Verified results as the coordinator accepts them, outputs downloaded and hash-checked.
   * Ends when the job does; throws `JobFailedError` if it fails or is cancelled.
   *
   * @example
   * for await (const { index, outputs } of job.results()) save(index, outputs[0])
   */
  results(options?: ResultsOptions): AsyncGenerator<JobResult>
  /**
   * The same, without downloading the outputs: each output is a `TensorRef` (blob hash,
   * dtype, shape) to fetch later with `client.downloadTensor`.
   *
   * @example
   * for await (const { seq, outputs } of job.resultRefs({ after: lastSeen })) queue(outputs[0].blob)
   */
  resultRefs(options?: ResultsOptions): AsyncGenerator<JobResult<TensorRef>>
  /**
   * Resolves with the completed job; rejects with `JobFailedError` when it fails or is
   * cancelled. An abort or a timeout cancels the job on the relay, then rejects with
   * `JobAbortedError`: its `job` is the state after the cancel (what was refunded), its
   * `cause` the signal's reason.
   *
   * @example
   * const done = await job.wait({ timeoutMs: 600_000, onProgress: (j) => bar.update(j.tasks.accepted, j.tasks.total) })
   */
  wait(options?: WaitOptions): Promise<JobView>
  /**
   * Stops the job's tasks: results arriving later are not accepted, and the credits not
   * spent are refunded (`credits.refunded` in the answer).
   *
   * @example
   * const { credits } = await job.cancel()
   * // Decimal strings, exact: BigInt(credits.refunded) === BigInt(credits.budget) - BigInt(credits.spent)
   */
  cancel(options?: { signal?: AbortSignal | undefined }): Promise<JobView>
}

/** How a handle follows the relay's event stream. */
export interface JobStreamOptions {
  /** Reopen a stream silent (no event, no heartbeat) for this long. @default EVENT_STREAM_IDLE_TIMEOUT_MS */
  idleTimeoutMs?: number
  /** Pause before reopening a stream that closed before the job ended. @default EVENT_STREAM_RECONNECT_MS */
  reconnectDelayMs?: number
  /** Failed (re)connections in a row before giving up. @default MAX_EVENT_STREAM_RETRIES */
  maxRetries?: number
}

type StreamEvent =
  | { type: 'result'; result: JobResult<TensorRef> }
  | { type: 'state'; job: JobView }

const isTerminal = (job: JobView) => job.status !== 'running'
const STATE_EVENTS = new Set(['progress', 'completed', 'failed', 'cancelled'])

/** One SSE event of the relay's job stream as a result or a state, or undefined for others. */
function parseStreamEvent(event: ServerSentEvent): StreamEvent | undefined {
  if (event.event !== 'result' && !STATE_EVENTS.has(event.event)) return undefined
  let value: unknown
  try {
    value = JSON.parse(event.data)
  } catch {
    throw new RelayResponseError(
      `the job event stream sent a ${event.event} event that is not JSON`,
    )
  }
  if (event.event === 'result') {
    const result = value as TaskResultRecord
    if (!Number.isSafeInteger(result?.seq) || !Array.isArray(result.outputs))
      throw new RelayResponseError('the job event stream sent a result without seq or outputs')
    return { type: 'result', result }
  }
  const job = (value as { job?: JobView })?.job
  if (job == null || typeof job.status !== 'string')
    throw new RelayResponseError(`the job event stream sent a ${event.event} event without a job`)
  return { type: 'state', job }
}

/**
 * A handle on job `id`. Progress and results both come from the relay's event stream
 * (`GET /jobs/:id/events`): resumed with Last-Event-ID from the last result seen, reopened
 * after a pause when the relay closes it early, and after `idleTimeoutMs` of silence, since
 * a half-open connection would otherwise hang forever.
 */
export function createJobHandle(
  transport: Transport,
  id: string,
  streamOptions: JobStreamOptions = {},
  submitted?: JobView,
): JobHandle {
  const path = `/jobs/${encodeURIComponent(id)}`
  const idleTimeoutMs = streamOptions.idleTimeoutMs ?? EVENT_STREAM_IDLE_TIMEOUT_MS
  const reconnectDelayMs = streamOptions.reconnectDelayMs ?? EVENT_STREAM_RECONNECT_MS
  const maxRetries = streamOptions.maxRetries ?? MAX_EVENT_STREAM_RETRIES

  /**
   * The job's events from result `after` on, across reconnections, ending with its end;
   * `statesOnly` asks the relay for state changes alone (`?results=false`), so following
   * progress neither replays every result nor has them queued for it.
   */
  async function* events(
    signal: AbortSignal | undefined,
    { after = 0, statesOnly = false }: { after?: number; statesOnly?: boolean },
  ): AsyncGenerator<StreamEvent> {
    const url = `${path}/events${statesOnly ? '?results=false' : ''}`
    let cursor = after
    let failures = 0
    for (;;) {
      let delivered = false
      let problem: unknown
      try {
        const response = await transport.request(url, {
          signal,
          // The stream lives as long as the job; the transport still bounds the wait for its
          // headers, and readServerSentEvents the silences after them.
          timeoutMs: null,
          headers: {
            accept: 'text/event-stream',
            ...(cursor > 0 ? { 'last-event-id': String(cursor) } : {}),
          },
        })
        if (response.body == null) throw new RelayResponseError('the job event stream has no body')
        for await (const raw of readServerSentEvents(response.body, { idleTimeoutMs, signal })) {
          const event = parseStreamEvent(raw)
          if (event == null) continue
          delivered = true
          failures = 0
          if (event.type === 'result') {
            // A repeat after a reconnection, or one before the caller's cursor.
            if (event.result.seq <= cursor) continue
            cursor = event.result.seq
          }
          yield event
          if (event.type === 'state' && isTerminal(event.job)) return
        }
      } catch (err) {
        if (signal?.aborted) throw signal.reason
        // The relay answered, and said no (or broke the API): reconnecting will not help.
        if (err instanceof ApiRequestError || err instanceof RelayResponseError) throw err
        problem = err
      }
      // Closed before the job ended (a relay restart, a reader too slow for the job), or
      // dropped, or silent too long: come back from the cursor after a pause.
      failures = await pauseBeforeReconnect(
        failures,
        { problem, delivered },
        { base: transport.base, reconnectDelayMs, maxRetries, signal },
      )
    }
  }

  const handle: JobHandle = {
    id,
    ...(submitted != null ? { submitted } : {}),
    status: ({ signal } = {}) => transport.json<JobView>(path, { signal }),
    detail: ({ signal } = {}) => transport.json<JobDetail>(`${path}/detail`, { signal }),

    async *progress({ signal } = {}) {
      for await (const event of events(signal, { statesOnly: true })) {
        if (event.type === 'state') yield event.job
      }
    },

    async *resultRefs({ signal, after = 0, onProgress } = {}) {
      for await (const event of events(signal, { after })) {
        if (event.type === 'result') {
          yield event.result
          continue
        }
        onProgress?.(event.job)
        if (isTerminal(event.job) && event.job.status !== 'completed')
          throw new JobFailedError(id, event.job.status, event.job.error)
      }
    },

    async *results(options = {}) {
      for await (const result of handle.resultRefs(options)) {
        const outputs = await Promise.all(
          result.outputs.map((ref) => downloadTensor(transport, ref, options.signal)),
        )
        yield { ...result, outputs }
      }
    },

    async wait({ signal, timeoutMs, onProgress } = {}) {
      const signals = [signal, timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined].filter(
        (s): s is AbortSignal => s != null,
      )
      const stop = signals.length > 0 ? AbortSignal.any(signals) : undefined
      let last: JobView | undefined
      try {
        for await (const job of handle.progress({ signal: stop })) {
          last = job
          onProgress?.(job)
        }
      } catch (err) {
        if (stop?.aborted)
          throw new JobAbortedError(id, stop.reason, await cancelAfterAbort(handle))

        throw err
      }
      // progress() ends only after yielding the terminal state (or throws), so `last` is it.
      const end = last!
      if (end.status !== 'completed') throw new JobFailedError(id, end.status, end.error)
      return end
    },

    cancel: ({ signal } = {}) =>
      transport.json<JobView>(`${path}/cancel`, { method: 'POST', signal }),
  }

  return handle
}

/**
 * Fetches a stored tensor and checks it: its size against its shape and dtype, its bytes
 * against the sha-256 it is named by. A mismatch is a `BlobIntegrityError`.
 */
export async function downloadTensor(
  transport: Transport,
  ref: TensorRef,
  signal?: AbortSignal,
): Promise<NdArray> {
  const response = await transport.request(`/blobs/${ref.blob}`, {
    signal,
    timeoutMs: BLOB_TRANSFER_TIMEOUT_MS,
  })
  const buffer = await response.arrayBuffer()
  const expected = tensorByteLength(ref.shape, ref.dtype)
  if (buffer.byteLength !== expected)
    throw new BlobIntegrityError(
      ref.blob,
      `has ${buffer.byteLength} bytes, its shape (${ref.shape.join(', ')}) ${ref.dtype} needs ${expected}`,
    )
  if ((await sha256Hex(new Uint8Array(buffer))) !== ref.blob)
    throw new BlobIntegrityError(ref.blob, 'arrived with a different hash')
  return { dtype: ref.dtype, shape: ref.shape, data: viewAs(ref.dtype, buffer) } as NdArray
}
