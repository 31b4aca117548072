import type { JobView } from '@tabswarm/relay'
import type { NdArray } from '../npy/npy.ts'
import {
  ApiRequestError,
  InvalidInputError,
  JobFailedError,
  RelayUnreachableError,
} from './client-errors.ts'
import { readServerSentEvents } from './server-sent-events.ts'

export interface ClientOptions {
  /** Base URL of a relay/coordinator, e.g. `http://127.0.0.1:8787`. */
  relay: string
  /** Timeout for each request that is not a long-lived event stream. @default 30_000 */
  requestTimeoutMs?: number
  /** Injected for tests or custom agents. @default globalThis.fetch */
  fetch?: typeof fetch
}

export interface CallOptions {
  signal?: AbortSignal
}

export interface MatmulOptions extends CallOptions {
  /** Called with the job's state whenever a tile is accepted. */
  onProgress?: (job: JobView) => void
  /** Whole-job timeout; the job is cancelled on the relay when it passes. @default 30 minutes */
  timeoutMs?: number
}

/** A float32 matrix: a numpy-style array with a 2-D shape. */
export type Matrix = Pick<NdArray<'float32'>, 'shape' | 'data'> & { dtype?: 'float32' }

export interface TabswarmClient {
  /** Uploads bytes; returns their sha-256, the handle jobs refer to. */
  uploadBlob(bytes: Uint8Array, options?: CallOptions): Promise<string>
  getJob(id: string, options?: CallOptions): Promise<JobView>
  listJobs(options?: CallOptions): Promise<JobView[]>
  cancel(id: string, options?: CallOptions): Promise<JobView>
  /** Job states as they change, ending with the terminal one. */
  events(id: string, options?: CallOptions): AsyncGenerator<JobView>
  /**
   * Computes `a · b` on the swarm, verified tile by tile.
   *
   * @example
   * const client = createClient({ relay: 'http://127.0.0.1:8787' })
   * const c = await client.matmul(
   *   { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
   *   { shape: [3, 1], data: new Float32Array([1, 1, 1]) },
   * ) // c.shape = [2, 1], c.data = [6, 15]
   */
  matmul(a: Matrix, b: Matrix, options?: MatmulOptions): Promise<NdArray<'float32'>>
}

const MINUTE = 60_000

/** Creates a client for a relay's HTTP API. Works in Node and in browsers. */
export function createClient(options: ClientOptions): TabswarmClient {
  const base = options.relay.replace(/\/+$/, '')
  const doFetch = options.fetch ?? globalThis.fetch
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000

  async function request(
    path: string,
    init: RequestInit & { timeoutMs?: number | null } = {},
  ): Promise<Response> {
    const signals = [init.signal].filter((s): s is AbortSignal => s != null)
    if (init.timeoutMs !== null)
      signals.push(AbortSignal.timeout(init.timeoutMs ?? requestTimeoutMs))
    let response: Response
    try {
      response = await doFetch(`${base}/v1${path}`, { ...init, signal: AbortSignal.any(signals) })
    } catch (err) {
      if (init.signal?.aborted) throw init.signal.reason
      throw new RelayUnreachableError(base, err)
    }
    if (!response.ok) {
      const body = (await response.json().catch(() => ({}))) as {
        error?: { code?: string; message?: string }
      }
      throw new ApiRequestError(
        response.status,
        body.error?.code ?? 'HTTP_ERROR',
        body.error?.message ??
          `${init.method ?? 'GET'} ${path} failed with HTTP ${response.status}`,
      )
    }
    return response
  }

  const json = async <T>(path: string, init?: RequestInit): Promise<T> =>
    (await request(path, init)).json() as Promise<T>

  const client: TabswarmClient = {
    async uploadBlob(bytes, { signal } = {}) {
      const body = await json<{ hash: string }>('/blobs', {
        method: 'PUT',
        body: bytes as Uint8Array<ArrayBuffer>,
        headers: { 'content-type': 'application/octet-stream' },
        ...(signal ? { signal } : {}),
      })
      return body.hash
    },

    getJob: (id, { signal } = {}) =>
      json(`/jobs/${encodeURIComponent(id)}`, signal ? { signal } : {}),
    listJobs: async ({ signal } = {}) =>
      (await json<{ jobs: JobView[] }>('/jobs', signal ? { signal } : {})).jobs,
    cancel: (id, { signal } = {}) =>
      json(`/jobs/${encodeURIComponent(id)}/cancel`, {
        method: 'POST',
        ...(signal ? { signal } : {}),
      }),

    async *events(id, { signal } = {}) {
      const response = await request(`/jobs/${encodeURIComponent(id)}/events`, {
        timeoutMs: null,
        headers: { accept: 'text/event-stream' },
        ...(signal ? { signal } : {}),
      })
      if (response.body == null)
        throw new ApiRequestError(response.status, 'NO_BODY', 'event stream has no body')
      for await (const event of readServerSentEvents(response.body)) {
        const job = JSON.parse(event.data) as JobView
        yield job
        if (job.status !== 'running') return
      }
      throw new RelayUnreachableError(base, new Error('event stream ended before the job did'))
    },

    async matmul(a, b, options = {}) {
      const [m, k] = checkMatrix('a', a)
      const [kb, n] = checkMatrix('b', b)
      if (k !== kb)
        throw new InvalidInputError(
          `shapes do not align: a is ${m}x${k}, b is ${kb}x${n} (need a.cols == b.rows)`,
        )
      const deadline = AbortSignal.timeout(options.timeoutMs ?? 30 * MINUTE)
      const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline
      const bytes = (x: Matrix) =>
        new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength)
      const [blobA, blobB] = await Promise.all([
        client.uploadBlob(bytes(a), { signal }),
        client.uploadBlob(bytes(b), { signal }),
      ])
      const job = await json<JobView>('/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          kernel: 'matmul',
          inputs: {
            a: { blob: blobA, dtype: 'float32', shape: [m, k] },
            b: { blob: blobB, dtype: 'float32', shape: [k, n] },
          },
        }),
        signal,
      })
      try {
        let last = job
        for await (const state of client.events(job.id, { signal })) {
          last = state
          options.onProgress?.(state)
        }
        if (last.status !== 'completed') throw new JobFailedError(job.id, last.status, last.error)
        const output = await request(`/jobs/${job.id}/output`, { signal, timeoutMs: 10 * MINUTE })
        return {
          dtype: 'float32',
          shape: [m, n],
          data: new Float32Array(await output.arrayBuffer()),
        }
      } catch (err) {
        if (signal.aborted) {
          await client.cancel(job.id).catch(() => undefined)
          throw signal.reason
        }
        throw err
      }
    },
  }
  return client
}

function checkMatrix(name: string, x: Matrix): [number, number] {
  if (x.dtype != null && x.dtype !== 'float32')
    throw new InvalidInputError(`${name} is ${x.dtype}; matmul takes float32`)
  if (!(x.data instanceof Float32Array))
    throw new InvalidInputError(`${name}.data must be a Float32Array`)
  if (x.shape.length !== 2)
    throw new InvalidInputError(`${name} must be 2-D, got shape (${x.shape.join(', ')})`)
  const [rows, cols] = x.shape as [number, number]
  if (rows < 1 || cols < 1)
    throw new InvalidInputError(`${name} has an empty dimension: (${rows}, ${cols})`)
  if (rows * cols !== x.data.length) {
    throw new InvalidInputError(
      `${name} has shape (${rows}, ${cols}) but ${x.data.length} elements`,
    )
  }
  return [rows, cols]
}
