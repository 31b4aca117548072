import {
  type AccountCredits,
  type AccountView,
  accountCredits,
  type CustomProgram,
  type CustomTask,
  type JobDetail,
  type JobQuote,
  type JobSpec,
  type JobView,
  type NdArray,
  type NetworkStats,
  NpyError,
  parseNpy,
  sha256Hex,
  type TensorDtype,
  type TensorRef,
} from '@tabswarm/protocol'
import {
  BLOB_TRANSFER_TIMEOUT_MS,
  MATMUL_TIMEOUT_MS,
  REQUEST_TIMEOUT_MS,
  UPLOAD_CONCURRENCY,
} from '../constants.ts'
import {
  type GenerateOptions,
  type Generation,
  generateBatch,
  generateTokens,
} from '../inference/generation.ts'
import type { GeneratedToken } from '../inference/incremental-detokenizer.ts'
import {
  type LoadedModel,
  type ModelSource,
  parseModelRef,
  tokenizerOfRef,
} from '../inference/loaded-model.ts'
import type { TextTokenizer } from '../inference/text-tokenizer.ts'
import { type SettlementApi, settlementApi } from '../settlement/settlement-api.ts'
import {
  ApiRequestError,
  BlobIntegrityError,
  InvalidInputError,
  RelayResponseError,
} from './client-errors.ts'
import { forEachConcurrently } from './for-each-concurrently.ts'
import { type Authenticate, createTransport } from './http-transport.ts'
import {
  createJobHandle,
  downloadTensor,
  type JobHandle,
  type JobStreamOptions,
} from './job-handle.ts'
import { type TensorLike, tensorBytes, toNdArray } from './tensor-input.ts'
import { type WalletSigner, walletAuth } from './wallet-auth.ts'

export interface ClientOptions {
  /** Base URL of a relay/coordinator, e.g. `http://127.0.0.1:8787`. */
  relay: string
  /** A researcher API key, sent as `Authorization: Bearer <key>`. */
  apiKey?: string | undefined
  /** Signs every request with this wallet (EIP-712) instead of sending an API key. */
  wallet?: WalletSigner | undefined
  /** Custom credentials added to every request; overrides `apiKey` and `wallet`. */
  authenticate?: Authenticate | undefined
  /** Timeout for each request that is not a long-lived event stream. @default REQUEST_TIMEOUT_MS (30 s) */
  requestTimeoutMs?: number | undefined
  /** How job handles follow the relay's event stream (idle timeout, reconnect pause). */
  stream?: JobStreamOptions | undefined
  /** Injected for tests or custom agents. @default globalThis.fetch */
  fetch?: typeof fetch | undefined
  /**
   * Reads and uploads a model directory, for `generate` given a path. Node only: the client
   * that `@tabswarm/sdk/node` creates has it (`uploadModelDirectory`); in a browser a model
   * is a `ModelRef` or a `LoadedModel`.
   */
  loadModelDirectory?:
    | ((
        client: TabswarmClient,
        dir: string,
        options: { signal?: AbortSignal | undefined },
      ) => Promise<LoadedModel>)
    | undefined
}

/** Options of `uploadBlob`. */
export interface UploadBlobOptions extends CallOptions {
  /**
   * Hex sha-256 of a `Blob` body, when known (it was hashed while read from disk): a wallet
   * signature names it, and the answer is checked against it. Without it a `Blob` is read
   * once to hash it.
   */
  sha256?: string | undefined
}

export interface CallOptions {
  /** Aborts the call; where a job was started for it, the job is cancelled too. */
  signal?: AbortSignal | undefined
}

type JobCommon = Pick<JobSpec, 'name' | 'verification' | 'budget' | 'priority' | 'deadline'>

export interface MatmulOptions extends CallOptions, JobCommon {
  /** Called with the job's state each time it changes. */
  onProgress?: ((job: JobView) => void) | undefined
  /** Whole-job timeout; the job is cancelled on the relay when it passes. @default MATMUL_TIMEOUT_MS (30 minutes) */
  timeoutMs?: number | undefined
}

export interface MapOptions extends CallOptions, JobCommon {
  /** Shape and dtype of each task's outputs, or a function of the task's inputs. */
  outputs:
    | Array<{ shape: number[]; dtype: TensorDtype }>
    | ((inputs: NdArray[], index: number) => Array<{ shape: number[]; dtype: TensorDtype }>)
  /** Workgroups per task, fixed or computed from the task's inputs. */
  workgroups:
    | [number, number, number]
    | ((inputs: NdArray[], index: number) => [number, number, number])
  /** Tasks whose inputs upload at the same time. @default UPLOAD_CONCURRENCY (4) */
  concurrency?: number | undefined
}

/** The relay's HTTP API; the settlement calls (`settlement`, `walletCredits`, …) are in {@link SettlementApi}. */
export interface TabswarmClient extends SettlementApi {
  /**
   * Uploads bytes; returns their sha-256, the handle jobs refer to. Uploading the same
   * bytes twice stores them once.
   *
   * @example
   * const blob = await client.uploadBlob(new Uint8Array([1, 2, 3])) // '039058c6f2c0cb49...'
   */
  uploadBlob(bytes: Uint8Array | Blob, options?: UploadBlobOptions): Promise<string>
  /**
   * Whether the relay holds a blob (`HEAD /v1/blobs/:hash`): what to skip uploading again.
   *
   * @example
   * if (!(await client.hasBlob(hash))) await client.uploadBlob(file, { sha256: hash })
   */
  hasBlob(hash: string, options?: CallOptions): Promise<boolean>
  /**
   * Uploads a tensor; returns the reference a job spec takes.
   *
   * @example
   * const a = await client.uploadTensor({ shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) })
   * // { blob: '…', dtype: 'float32', shape: [2, 2] }
   */
  uploadTensor(tensor: TensorLike, options?: CallOptions): Promise<TensorRef>
  /**
   * Downloads a stored tensor, checking its size and its hash (`BlobIntegrityError`).
   *
   * @example
   * const output = await client.downloadTensor(result.outputs[0])
   */
  downloadTensor(ref: TensorRef, options?: CallOptions): Promise<NdArray>
  /**
   * What a job would cost, before submitting it: its tasks, flops and credits. Submitting
   * escrows `credits` (or `spec.budget`) from the account.
   *
   * @example
   * const { tasks, credits } = await client.quote({ kernel: 'matmul', inputs: { a, b } })
   */
  quote(spec: JobSpec, options?: CallOptions): Promise<JobQuote>
  /**
   * Submits a job and returns its handle.
   *
   * @example
   * const job = await client.submit(spec)
   * for await (const result of job.results()) console.log(result.index, result.outputs[0].data)
   */
  submit(spec: JobSpec, options?: CallOptions): Promise<JobHandle>
  /**
   * A handle on a job submitted earlier (no request is made).
   *
   * @example
   * const done = await client.job('j_2x9…').wait()
   */
  job(id: string): JobHandle
  /**
   * One job's current state; the same as `client.job(id).status()`.
   *
   * @example
   * const { status, tasks } = await client.getJob(id) // 'running', { accepted: 3, total: 12, … }
   */
  getJob(id: string, options?: CallOptions): Promise<JobView>
  /**
   * One job in detail: tasks by state, verification outcomes, credits, timings, throughput
   * and recent history; the same as `client.job(id).detail()`.
   *
   * @example
   * const { tasks, verification } = await client.jobDetail(id) // tasks.awaitingSecondOpinion, verification.freivalds, …
   */
  jobDetail(id: string, options?: CallOptions): Promise<JobDetail>
  /**
   * Your jobs, newest first; `idPrefix` keeps those whose id starts with it (1 to 64 of
   * `[A-Za-z0-9_-]`), to resolve a short id as git does.
   *
   * @example
   * const running = await client.listJobs({ status: 'running', limit: 10 })
   * const [only, another] = await client.listJobs({ idPrefix: 'j_2x9', limit: 2 })
   */
  listJobs(
    options?: CallOptions & {
      status?: JobView['status'] | undefined
      limit?: number | undefined
      idPrefix?: string | undefined
    },
  ): Promise<JobView[]>
  /**
   * Cancels a job: its tasks stop and what it did not spend is refunded. The same as
   * `client.job(id).cancel()`.
   *
   * @example
   * const { credits } = await client.cancel(id)
   * // Decimal strings, exact: BigInt(credits.refunded) === BigInt(credits.budget) - BigInt(credits.spent)
   */
  cancel(id: string, options?: CallOptions): Promise<JobView>
  /**
   * Credits of a wallet address (anyone may read them) or of your own account, as exact
   * integers (`bigint`).
   *
   * @example
   * const { balance, earned, pending } = await client.account('0x1234…')
   */
  account(address: string, options?: CallOptions): Promise<AccountCredits>
  /**
   * The relay's public figures (`GET /v1/stats`, no credentials needed): contributors online
   * and their GFLOP/s, compute done (total and per hour), jobs by status, credits paid and
   * settled.
   *
   * @example
   * const { contributors, compute } = await client.stats() // contributors.online, compute.totalGflop
   */
  stats(options?: CallOptions): Promise<NetworkStats>
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
   * The product C of a completed matmul job submitted earlier (`GET
   * /v1/jobs/:id/output?format=npy`), checked against the job's m×n: what `matmul` returns,
   * for a job followed elsewhere (a dashboard, another process). Write it for numpy with
   * `encodeNpy`.
   *
   * @example
   * const c = await client.matmulOutput(id) // { dtype: 'float32', shape: [m, n], data }
   * await writeFile('c.npy', encodeNpy(c))
   */
  matmulOutput(id: string, options?: CallOptions): Promise<NdArray<'float32'>>
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
  /**
   * Generates text from a prompt on the swarm: an inference job (pipeline mode unless
   * `mode` says otherwise) whose verified tokens are yielded as they are accepted, each
   * with the text it completes (`''` for a token that holds part of a character, which
   * then comes out whole). `model` is a `LoadedModel`, a `ModelRef` whose tokenizer blob
   * the relay holds, or in Node (`@tabswarm/sdk/node`) a model directory's path. Aborting
   * the signal cancels the job and throws `JobAbortedError`; leaving the loop early cancels
   * it too; a failed job throws `JobFailedError` saying why.
   *
   * @example
   * for await (const { text } of client.generate(model, 'The capital of France is', { maxNewTokens: 16 }))
   *   process.stdout.write(text)
   */
  generate(
    model: ModelSource,
    prompt: string,
    options?: GenerateOptions,
  ): AsyncGenerator<GeneratedToken>
  /**
   * Generates from many prompts in one job (batch mode unless `mode` says otherwise) and
   * returns every generation once the job completes.
   *
   * @example
   * const generations = await client.generateBatch(model, ['Once upon a time', 'In 1905,'], { maxNewTokens: 32 })
   * for (const { prompt, text } of generations) console.log(prompt + text)
   */
  generateBatch(
    model: ModelSource,
    prompts: readonly string[],
    options?: GenerateOptions,
  ): Promise<Generation[]>
  /**
   * A model ready for `generate`: a `ModelRef` with its tokenizer downloaded from the relay,
   * or (Node) a model directory uploaded. Loaded once per ref and reused.
   *
   * @example
   * const model = await client.loadModel(JSON.parse(pastedRef))
   */
  loadModel(model: ModelSource, options?: CallOptions): Promise<LoadedModel>
}

/**
 * Creates a client for a relay's HTTP API. Works in Node and in browsers (it needs only
 * `fetch`, `crypto.subtle` and streams); from a page on another origin the relay must
 * allow it (CORS).
 *
 * @example
 * import { createClient } from '@tabswarm/sdk'
 * const client = createClient({ relay: 'http://127.0.0.1:8787' })
 * const quote = await client.quote(spec)
 *
 * @example
 * // A public relay: an API key, or a wallet that signs every request.
 * const keyed = createClient({ relay: 'https://swarm.example', apiKey: process.env.TABSWARM_API_KEY })
 * const signed = createClient({ relay: 'https://swarm.example', wallet: privateKeyToAccount(key) })
 */
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
    requestTimeoutMs: options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    ...(authenticate ? { authenticate } : {}),
  })
  const handleOf = (id: string) => createJobHandle(transport, id, options.stream)
  /** Tokenizers of refs already loaded, by their blob: a dashboard generates many times. */
  const tokenizers = new Map<string, Promise<TextTokenizer>>()
  const generation = {
    transport,
    submit: (spec: JobSpec, callOptions: CallOptions) => client.submit(spec, callOptions),
    stream: options.stream,
  }

  const client: TabswarmClient = {
    ...settlementApi(transport),

    async uploadBlob(bytes, { signal, sha256 } = {}) {
      let expected = sha256
      if (bytes instanceof Uint8Array) expected = undefined
      else if (expected == null)
        expected = await sha256Hex(new Uint8Array(await bytes.arrayBuffer()))
      const answer = await transport.json<{ blob?: unknown }>('/blobs', {
        method: 'PUT',
        body: bytes,
        ...(expected != null ? { bodySha256: expected } : {}),
        signal,
        timeoutMs: BLOB_TRANSFER_TIMEOUT_MS,
      })
      if (typeof answer.blob !== 'string')
        throw new RelayResponseError('the relay stored the blob but returned no hash')
      if (expected != null && answer.blob !== expected)
        throw new BlobIntegrityError(
          expected,
          `was stored as ${answer.blob}: the bytes changed while they were sent (a file written to meanwhile?)`,
        )
      return answer.blob
    },

    async hasBlob(hash, { signal } = {}) {
      if (!/^[0-9a-f]{64}$/.test(hash))
        throw new InvalidInputError(
          `a blob hash is 64 lower-case hex digits, got "${hash.slice(0, 80)}"`,
        )
      try {
        await transport.request(`/blobs/${hash}`, { method: 'HEAD', signal })
        return true
      } catch (err) {
        if (err instanceof ApiRequestError && err.status === 404) return false
        throw err
      }
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
      return createJobHandle(transport, job.id, options.stream, job)
    },

    job: handleOf,
    getJob: (id, { signal } = {}) => handleOf(id).status({ signal }),

    jobDetail: (id, { signal } = {}) => handleOf(id).detail({ signal }),

    async listJobs({ signal, status, limit, idPrefix } = {}) {
      if (idPrefix != null && !ID_PREFIX.test(idPrefix))
        throw new InvalidInputError(
          `idPrefix must be 1 to 64 letters, digits, '_' or '-', got "${idPrefix.slice(0, 80)}"`,
        )
      const query = new URLSearchParams()
      if (status) query.set('status', status)
      if (limit) query.set('limit', String(limit))
      if (idPrefix) query.set('idPrefix', idPrefix)
      const suffix = query.size > 0 ? `?${query}` : ''
      return (await transport.json<{ jobs: JobView[] }>(`/jobs${suffix}`, { signal })).jobs
    },

    cancel: (id, { signal } = {}) => handleOf(id).cancel({ signal }),

    account: (address, { signal } = {}) =>
      transport
        .json<AccountView>(`/accounts/${encodeURIComponent(address)}`, { signal })
        // Decimal strings on the wire (JSON has no bigint), exact integers here.
        .then(accountCredits),

    stats: ({ signal } = {}) => transport.json<NetworkStats>('/stats', { signal }),

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
      const deadline = AbortSignal.timeout(timeoutMs ?? MATMUL_TIMEOUT_MS)
      const signal = callerSignal ? AbortSignal.any([callerSignal, deadline]) : deadline
      const [refA, refB] = await Promise.all([
        client.uploadTensor(left, { signal }),
        client.uploadTensor(right, { signal }),
      ])
      const job = await client.submit(
        { ...common, kernel: 'matmul', inputs: { a: refA, b: refB } },
        { signal },
      )
      await job.wait({ signal, onProgress })
      const output = await transport.request(`/jobs/${job.id}/output`, {
        signal,
        timeoutMs: BLOB_TRANSFER_TIMEOUT_MS,
      })
      const data = new Float32Array(await output.arrayBuffer())
      if (data.length !== m * n)
        throw new RelayResponseError(
          `the relay returned a product of ${data.length} elements, expected ${m}x${n} = ${m * n}`,
        )
      return { dtype: 'float32', shape: [m, n], data }
    },

    async matmulOutput(id, { signal } = {}) {
      const job = await handleOf(id).status({ signal })
      if (job.kernel !== 'matmul' || job.args == null)
        throw new InvalidInputError(
          `job ${id} is a ${job.kernel} job, which has no product C; read its outputs with client.job(id).results()`,
        )
      const { m, n } = job.args
      const response = await transport.request(
        `/jobs/${encodeURIComponent(id)}/output?format=npy`,
        { signal, timeoutMs: BLOB_TRANSFER_TIMEOUT_MS },
      )
      let array: NdArray
      try {
        array = parseNpy(new Uint8Array(await response.arrayBuffer()))
      } catch (err) {
        if (!(err instanceof NpyError)) throw err
        throw new RelayResponseError(`the relay's .npy of job ${id}'s product: ${err.message}`)
      }
      if (array.dtype !== 'float32' || array.shape.join() !== `${m},${n}`)
        throw new RelayResponseError(
          `the relay returned job ${id}'s product as ${array.dtype} (${array.shape.join(', ')}); the job is float32 (${m}, ${n})`,
        )
      return array as NdArray<'float32'>
    },

    async map(program, inputs, mapOptions) {
      const {
        signal,
        outputs,
        workgroups,
        concurrency = UPLOAD_CONCURRENCY,
        ...common
      } = mapOptions
      if (!Array.isArray(inputs) || inputs.length === 0)
        throw new InvalidInputError('map needs at least one input')
      if (!Number.isSafeInteger(concurrency) || concurrency < 1)
        throw new InvalidInputError(`concurrency must be a positive integer, got ${concurrency}`)
      // Every input is checked before anything is uploaded.
      const arraysOf = inputs.map((input, index) => {
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
        return arrays
      })
      const tasks: CustomTask[] = new Array(arraysOf.length)
      // One failed upload stops the others.
      await forEachConcurrently(
        arraysOf,
        concurrency,
        async (arrays, index, uploads) => {
          const refs = await Promise.all(
            arrays.map((array) => client.uploadTensor(array, { signal: uploads })),
          )
          tasks[index] = {
            inputs: refs,
            outputs: typeof outputs === 'function' ? outputs(arrays, index) : outputs,
            workgroups: typeof workgroups === 'function' ? workgroups(arrays, index) : workgroups,
          }
        },
        signal,
      )
      return client.submit({ ...common, kernel: 'custom', program, tasks }, { signal })
    },

    async *generate(model, prompt, generateOptions = {}) {
      if (typeof prompt !== 'string')
        throw new InvalidInputError('generate takes the prompt as a string')
      const loaded = await client.loadModel(model, { signal: generateOptions.signal })
      yield* generateTokens(generation, loaded, prompt, generateOptions)
    },

    async generateBatch(model, prompts, generateOptions = {}) {
      const loaded = await client.loadModel(model, { signal: generateOptions.signal })
      return generateBatch(generation, loaded, prompts, generateOptions)
    },

    async loadModel(model, { signal } = {}) {
      if (typeof model === 'string') {
        if (options.loadModelDirectory == null)
          throw new InvalidInputError(
            `a model directory (${model}) is read from disk, in Node: create the client with createClient from '@tabswarm/sdk/node', or pass a ModelRef`,
          )
        return options.loadModelDirectory(client, model, { signal })
      }
      if (model != null && 'tokenizer' in model && 'ref' in model) return model as LoadedModel
      const ref = parseModelRef(model)
      const blob = ref.tokenizer?.blob
      let tokenizer = blob != null ? tokenizers.get(blob) : undefined
      if (tokenizer == null) {
        tokenizer = tokenizerOfRef(transport, ref, signal)
        if (blob != null) {
          tokenizers.set(blob, tokenizer)
          tokenizer.catch(() => tokenizers.delete(blob))
        }
      }
      return { ref, tokenizer: await tokenizer }
    },
  }
  return client
}

/** What the relay accepts as a job id prefix (`GET /v1/jobs?idPrefix=`). */
const ID_PREFIX = /^[A-Za-z0-9_-]{1,64}$/

/** A float32 2-D matrix with no empty dimension, or `InvalidInputError` naming `name`. */
export function checkMatrix(name: string, x: TensorLike): NdArray<'float32'> {
  const array = toNdArray(name, x)
  if (array.dtype !== 'float32')
    throw new InvalidInputError(`${name} is ${array.dtype}; matmul takes float32`)
  if (array.shape.length !== 2)
    throw new InvalidInputError(`${name} must be 2-D, got shape (${array.shape.join(', ')})`)
  const [rows, cols] = array.shape as [number, number]
  if (rows < 1 || cols < 1)
    throw new InvalidInputError(`${name} has an empty dimension: (${rows}, ${cols})`)
  return array as NdArray<'float32'>
}

export type {
  AccountCredits,
  AccountView,
  CustomProgram,
  JobDetail,
  JobQuote,
  JobSpec,
  JobView,
  JobWaiting,
  ModelRef,
  NetworkStats,
  SamplingSpec,
  TensorRef,
  VerificationPolicy,
  WaitingReason,
} from '@tabswarm/protocol'
export type { GenerateOptions, Generation } from '../inference/generation.ts'
export type { GeneratedToken } from '../inference/incremental-detokenizer.ts'
export type { LoadedModel, ModelSource } from '../inference/loaded-model.ts'
export type { TextTokenizer } from '../inference/text-tokenizer.ts'
export type {
  JobHandle,
  JobResult,
  JobStreamOptions,
  ResultsOptions,
  WaitOptions,
} from './job-handle.ts'
export type { TensorLike } from './tensor-input.ts'
