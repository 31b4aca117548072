import type { AccountView, JobQuote, JobView } from '@tabswarm/relay'
import type { CustomProgram, JobSpec, TensorRef } from '@tabswarm/relay/protocol'
import type { NdArray, NpyDtype } from '../npy/npy.ts'
import { InvalidInputError } from './client-errors.ts'
import { type Authenticate, createTransport } from './http-transport.ts'
import { createJobHandle, downloadTensor, type JobHandle } from './job-handle.ts'
import { type TensorLike, tensorBytes, toNdArray } from './tensor-input.ts'
import { type WalletSigner, walletAuth } from './wallet-auth.ts'

export interface ClientOptions {
  /** Base URL of a relay/coordinator, e.g. `http://127.0.0.1:8787`. */
  relay: string
  /** A researcher API key, sent as `Authorization: Bearer <key>`. */
  apiKey?: string
  /** Signs every request with this wallet (EIP-712) instead of sending an API key. */
  wallet?: WalletSigner
  /** Custom credentials added to every request; overrides `apiKey` and `wallet`. */
  authenticate?: Authenticate
  /** Timeout for each request that is not a long-lived event stream. @default 30_000 */
  requestTimeoutMs?: number
  /** Injected for tests or custom agents. @default globalThis.fetch */
  fetch?: typeof fetch
}

export interface CallOptions {
  signal?: AbortSignal
}

type JobCommon = Pick<JobSpec, 'name' | 'verification' | 'budget' | 'priority' | 'deadline'>

export interface MatmulOptions extends CallOptions, JobCommon {
  onProgress?: (job: JobView) => void
  /** Whole-job timeout; the job is cancelled on the relay when it passes. @default 30 minutes */
  timeoutMs?: number
}

export interface MapOptions extends CallOptions, JobCommon {
  /** Shape and dtype of each task's outputs, or a function of the task's inputs. */
  outputs:
    | Array<{ shape: number[]; dtype: NpyDtype }>
    | ((inputs: NdArray[], index: number) => Array<{ shape: number[]; dtype: NpyDtype }>)
  /** Workgroups per task, fixed or computed from the task's inputs. */
  workgroups:
    | [number, number, number]
    | ((inputs: NdArray[], index: number) => [number, number, number])
}

export interface TabswarmClient {
  /** Uploads bytes; returns their sha-256, the handle jobs refer to. */
  uploadBlob(bytes: Uint8Array, options?: CallOptions): Promise<string>
  /** Uploads a tensor; returns the reference a job spec takes. */
  uploadTensor(tensor: TensorLike, options?: CallOptions): Promise<TensorRef>
  /** Downloads a stored tensor, checking its hash. */
  downloadTensor(ref: TensorRef, options?: CallOptions): Promise<NdArray>
  /** What a job would cost, before submitting it. */
  quote(spec: JobSpec, options?: CallOptions): Promise<JobQuote>
  /**
   * Submits a job and returns its handle.
   *
   * @example
   * const job = await client.submit(spec)
   * for await (const result of job.results()) console.log(result.index, result.outputs[0].data)
   */
  submit(spec: JobSpec, options?: CallOptions): Promise<JobHandle>
  /** A handle on a job submitted earlier (no request is made). */
  job(id: string): JobHandle
  getJob(id: string, options?: CallOptions): Promise<JobView>
  listJobs(
    options?: CallOptions & { status?: JobView['status']; limit?: number },
  ): Promise<JobView[]>
  cancel(id: string, options?: CallOptions): Promise<JobView>
  /** Credits of a wallet address or account. */
  account(address: string, options?: CallOptions): Promise<AccountView>
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
  matmul(a: TensorLike, b: TensorLike, options?: MatmulOptions): Promise<NdArray<'float32'>>
  /**
   * Maps a custom WGSL kernel over inputs, one task per element of `inputs` (a tensor, or a
   * list of tensors for a kernel with several inputs). Results stream from the handle.
   *
   * @example
   * const job = await client.map(program, seedFiles, { outputs: [{ shape: [4096], dtype: 'uint32' }], workgroups: [64, 1, 1] })
   * for await (const { index, outputs } of job.results()) total += sum(outputs[0].data)
   */
  map(
    program: CustomProgram,
    inputs: Array<TensorLike | TensorLike[]>,
    options: MapOptions,
  ): Promise<JobHandle>
}

const MINUTE = 60_000

/** Creates a client for a relay's HTTP API. Works in Node and in browsers. */
export function createClient(options: ClientOptions): TabswarmClient {
  if (typeof options?.relay !== 'string' || !/^https?:\/\//.test(options.relay))
    throw new InvalidInputError(`relay must be an http(s) URL, got ${String(options?.relay)}`)
  const apiKeyAuth: Authenticate | undefined = options.apiKey
    ? async () => ({ authorization: `Bearer ${options.apiKey}` })
    : undefined
  const authenticate =
    options.authenticate ?? (options.wallet ? walletAuth(options.wallet) : apiKeyAuth)
  const transport = createTransport({
    base: options.relay.replace(/\/+$/, ''),
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    ...(authenticate ? { authenticate } : {}),
  })

  const client: TabswarmClient = {
    async uploadBlob(bytes, { signal } = {}) {
      const answer = await transport.json<{ blob?: string; hash?: string }>('/blobs', {
        method: 'PUT',
        body: bytes,
        signal,
        timeoutMs: 10 * MINUTE,
      })
      const hash = answer.blob ?? answer.hash
      if (typeof hash !== 'string') throw new InvalidInputError('the relay returned no blob hash')
      return hash
    },

    async uploadTensor(tensor, callOptions) {
      const array = toNdArray('tensor', tensor)
      const blob = await client.uploadBlob(tensorBytes(array), callOptions)
      return { blob, dtype: array.dtype, shape: array.shape }
    },

    downloadTensor: (ref, { signal } = {}) => downloadTensor(transport, ref, signal),

    quote: (spec, { signal } = {}) =>
      transport.json<JobQuote>('/quote', { method: 'POST', body: spec, signal }),

    async submit(spec, { signal } = {}) {
      const job = await transport.json<JobView>('/jobs', { method: 'POST', body: spec, signal })
      return createJobHandle(transport, job.id)
    },

    job: (id) => createJobHandle(transport, id),
    getJob: (id, { signal } = {}) =>
      createJobHandle(transport, id).status({ ...(signal ? { signal } : {}) }),

    async listJobs({ signal, status, limit } = {}) {
      const query = new URLSearchParams()
      if (status) query.set('status', status)
      if (limit) query.set('limit', String(limit))
      const suffix = query.size > 0 ? `?${query}` : ''
      return (await transport.json<{ jobs: JobView[] }>(`/jobs${suffix}`, { signal })).jobs
    },

    cancel: (id, { signal } = {}) =>
      createJobHandle(transport, id).cancel({ ...(signal ? { signal } : {}) }),

    account: (address, { signal } = {}) =>
      transport.json<AccountView>(`/accounts/${encodeURIComponent(address)}`, { signal }),

    async matmul(a, b, matmulOptions = {}) {
      const { signal: callerSignal, onProgress, timeoutMs, ...common } = matmulOptions
      const left = checkMatrix('a', a)
      const right = checkMatrix('b', b)
      const [m, k] = left.shape as [number, number]
      const [kb, n] = right.shape as [number, number]
      if (k !== kb)
        throw new InvalidInputError(
          `shapes do not align: a is ${m}x${k}, b is ${kb}x${n} (need a.cols == b.rows)`,
        )
      const deadline = AbortSignal.timeout(timeoutMs ?? 30 * MINUTE)
      const signal = callerSignal ? AbortSignal.any([callerSignal, deadline]) : deadline
      const [refA, refB] = await Promise.all([
        client.uploadTensor(left, { signal }),
        client.uploadTensor(right, { signal }),
      ])
      const job = await client.submit(
        { ...common, kernel: 'matmul', inputs: { a: refA, b: refB } },
        { signal },
      )
      await job.wait({ signal, ...(onProgress ? { onProgress } : {}) })
      const output = await transport.request(`/jobs/${job.id}/output`, {
        signal,
        timeoutMs: 10 * MINUTE,
      })
      const data = new Float32Array(await output.arrayBuffer())
      if (data.length !== m * n)
        throw new InvalidInputError(`the relay returned ${data.length} elements, expected ${m * n}`)
      return { dtype: 'float32', shape: [m, n], data }
    },

    async map(program, inputs, mapOptions) {
      const { signal, outputs, workgroups, ...common } = mapOptions
      if (!Array.isArray(inputs) || inputs.length === 0)
        throw new InvalidInputError('map needs at least one input')
      const tasks = []
      for (const [index, input] of inputs.entries()) {
        const arrays = (Array.isArray(input) ? input : [input]).map((x, i) =>
          toNdArray(`inputs[${index}]${Array.isArray(input) ? `[${i}]` : ''}`, x),
        )
        if (arrays.length !== program.inputs.length)
          throw new InvalidInputError(
            `inputs[${index}] has ${arrays.length} tensors; the program declares ${program.inputs.length}`,
          )
        for (const [i, array] of arrays.entries()) {
          if (array.dtype !== program.inputs[i]!.dtype)
            throw new InvalidInputError(
              `inputs[${index}]: ${program.inputs[i]!.name} must be ${program.inputs[i]!.dtype}, got ${array.dtype}`,
            )
        }
        const refs = await Promise.all(
          arrays.map((array) => client.uploadTensor(array, signal ? { signal } : {})),
        )
        tasks.push({
          inputs: refs,
          outputs: typeof outputs === 'function' ? outputs(arrays, index) : outputs,
          workgroups: typeof workgroups === 'function' ? workgroups(arrays, index) : workgroups,
        })
      }
      return client.submit(
        { ...common, kernel: 'custom', program, tasks },
        signal ? { signal } : {},
      )
    },
  }
  return client
}

function checkMatrix(name: string, x: TensorLike): NdArray {
  const array = toNdArray(name, x)
  if (array.dtype !== 'float32')
    throw new InvalidInputError(`${name} is ${array.dtype}; matmul takes float32`)
  if (array.shape.length !== 2)
    throw new InvalidInputError(`${name} must be 2-D, got shape (${array.shape.join(', ')})`)
  const [rows, cols] = array.shape as [number, number]
  if (rows < 1 || cols < 1)
    throw new InvalidInputError(`${name} has an empty dimension: (${rows}, ${cols})`)
  return array
}

export type { AccountView, JobQuote, JobView } from '@tabswarm/relay'
export type {
  CustomProgram,
  JobSpec,
  TensorRef,
  VerificationPolicy,
} from '@tabswarm/relay/protocol'
export type { JobHandle, JobResult, WaitOptions } from './job-handle.ts'
export type { TensorLike } from './tensor-input.ts'
