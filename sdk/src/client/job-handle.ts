import type { JobView, ResultsPage, VerificationMethod } from '@tabswarm/relay'
import { sha256Hex, type TensorRef } from '@tabswarm/relay/protocol'
import { type NdArray, typedArrayOf } from '../npy/npy.ts'
import { ApiRequestError, JobFailedError, RelayUnreachableError } from './client-errors.ts'
import type { Transport } from './http-transport.ts'
import { readServerSentEvents } from './server-sent-events.ts'

/** One verified task result, in the order the coordinator accepted them. */
export interface JobResult<Output = NdArray> {
  /** Position in the job's acceptance order; `results({ after: seq })` resumes after it. */
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
  signal?: AbortSignal
  /** Gives up (and cancels the job) after this long. @default no limit beyond the signal */
  timeoutMs?: number
  onProgress?: (job: JobView) => void
}

/** A submitted job: its progress, its verified results as they arrive, and a way to stop it. */
export interface JobHandle {
  readonly id: string
  /** The job's current state. */
  status(options?: { signal?: AbortSignal }): Promise<JobView>
  /** The job's state each time it changes, ending with the terminal state. */
  progress(options?: { signal?: AbortSignal }): AsyncGenerator<JobView>
  /**
   * Verified results as the coordinator accepts them, outputs downloaded. Ends when the job
   * does; throws `JobFailedError` if it fails or is cancelled.
   *
   * @example
   * for await (const { index, outputs } of job.results()) save(index, outputs[0])
   */
  results(options?: { signal?: AbortSignal; after?: number }): AsyncGenerator<JobResult>
  /** The same, without downloading the outputs. */
  resultRefs(options?: {
    signal?: AbortSignal
    after?: number
  }): AsyncGenerator<JobResult<TensorRef>>
  /** Resolves with the completed job; rejects with `JobFailedError` otherwise. */
  wait(options?: WaitOptions): Promise<JobView>
  /** Stops the job's tasks; what was not spent is refunded. */
  cancel(options?: { signal?: AbortSignal }): Promise<JobView>
}

const isTerminal = (job: JobView) => job.status !== 'running'
/** Reconnects to a dropped event stream this many times in a row before giving up. */
const MAX_STREAM_RETRIES = 5
const RESULTS_PAGE = 256

/** Reads a job's event stream; each event carries the job's state, bare or as `{ job }`. */
function jobOf(data: string): JobView | undefined {
  const value = JSON.parse(data) as { job?: JobView; status?: string }
  if (value.job != null) return value.job
  return typeof value.status === 'string' ? (value as JobView) : undefined
}

export function createJobHandle(transport: Transport, id: string): JobHandle {
  const path = `/jobs/${encodeURIComponent(id)}`

  const handle: JobHandle = {
    id,
    status: ({ signal } = {}) => transport.json<JobView>(path, { signal }),

    async *progress({ signal } = {}) {
      let failures = 0
      for (;;) {
        let response: Response
        try {
          response = await transport.request(`${path}/events`, {
            signal,
            timeoutMs: null,
            headers: { accept: 'text/event-stream' },
          })
        } catch (err) {
          if (!(err instanceof RelayUnreachableError) || ++failures > MAX_STREAM_RETRIES) throw err
          await pause(500 * 2 ** failures, signal)
          continue
        }
        if (response.body == null)
          throw new ApiRequestError(response.status, 'NO_BODY', 'event stream has no body')
        try {
          for await (const event of readServerSentEvents(response.body)) {
            failures = 0
            const job = jobOf(event.data)
            if (job == null) continue
            yield job
            if (isTerminal(job)) return
          }
        } catch (err) {
          if (signal?.aborted) throw signal.reason
          if (++failures > MAX_STREAM_RETRIES) throw new RelayUnreachableError(transport.base, err)
        }
        // The stream dropped: the job may have ended meanwhile.
        const job = await handle.status({ ...(signal ? { signal } : {}) })
        if (isTerminal(job)) {
          yield job
          return
        }
      }
    },

    async *resultRefs({ signal, after = 0 } = {}) {
      let cursor = after
      // Reads pages until nothing new is there; true when the job is over and all is read.
      const drain = async function* (): AsyncGenerator<JobResult<TensorRef>, boolean> {
        for (;;) {
          const page = await transport.json<ResultsPage>(
            `${path}/results?after=${cursor}&limit=${RESULTS_PAGE}`,
            { signal },
          )
          for (const result of page.results) yield result
          cursor = page.cursor
          if (page.done) return true
          if (page.results.length === 0) return false
        }
      }
      if (yield* drain()) return await finish()
      // Each event (a result accepted, the job ending) is a cue to read on; the cursor makes
      // a missed or repeated cue harmless.
      for await (const _job of handle.progress(signal ? { signal } : {})) {
        if (yield* drain()) return await finish()
      }
      while (!(yield* drain())) await pause(250, signal)
      return await finish()

      async function finish(): Promise<void> {
        const job = await handle.status(signal ? { signal } : {})
        if (job.status !== 'completed') throw new JobFailedError(id, job.status, job.error)
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
        for await (const job of handle.progress(stop ? { signal: stop } : {})) {
          last = job
          onProgress?.(job)
        }
      } catch (err) {
        if (stop?.aborted) {
          await handle.cancel().catch(() => undefined)
          throw stop.reason
        }
        throw err
      }
      if (last == null) last = await handle.status()
      if (last.status !== 'completed') throw new JobFailedError(id, last.status, last.error)
      return last
    },

    cancel: ({ signal } = {}) =>
      transport.json<JobView>(`${path}/cancel`, { method: 'POST', signal }),
  }
  return handle
}

/** Fetches a stored tensor and checks its hash, and its size against its shape and dtype. */
export async function downloadTensor(
  transport: Transport,
  ref: TensorRef,
  signal?: AbortSignal,
): Promise<NdArray> {
  const response = await transport.request(`/blobs/${ref.blob}`, { signal, timeoutMs: 600_000 })
  const buffer = await response.arrayBuffer()
  const itemBytes = ref.dtype === 'float16' ? 2 : 4
  const expected = ref.shape.reduce((a, b) => a * b, 1) * itemBytes
  if (buffer.byteLength !== expected)
    throw new ApiRequestError(
      200,
      'BAD_BLOB',
      `blob ${ref.blob} has ${buffer.byteLength} bytes, its shape (${ref.shape.join(', ')}) ${ref.dtype} needs ${expected}`,
    )
  if ((await sha256Hex(new Uint8Array(buffer))) !== ref.blob)
    throw new ApiRequestError(200, 'BAD_BLOB', `blob ${ref.blob} arrived with a different hash`)
  return { dtype: ref.dtype, shape: ref.shape, data: typedArrayOf(ref.dtype, buffer) } as NdArray
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(signal.reason)
      },
      { once: true },
    )
  })
}
