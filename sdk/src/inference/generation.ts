import {
  type FinishReason,
  type InferenceJobSpec,
  InferenceJobSpecSchema,
  type JobSpec,
  type JobView,
  type SamplingSpec,
} from '@tabswarm/protocol'
import { cancelAfterAbort } from '../client/cancel-after-abort.ts'
import { InvalidInputError, JobAbortedError } from '../client/client-errors.ts'
import type { Transport } from '../client/http-transport.ts'
import type { JobHandle, JobStreamOptions } from '../client/job-handle.ts'
import { DEFAULT_MAX_NEW_TOKENS, GENERATE_TIMEOUT_MS } from '../constants.ts'
import { createIncrementalDetokenizer, type GeneratedToken } from './incremental-detokenizer.ts'
import type { LoadedModel } from './loaded-model.ts'
import { followTokens, readInferenceOutput } from './token-stream.ts'

/** Options of `client.generate` and `client.generateBatch`. */
export interface GenerateOptions
  extends Pick<JobSpec, 'name' | 'verification' | 'budget' | 'priority' | 'deadline'> {
  /** Stops generating and cancels the job. */
  signal?: AbortSignal | undefined
  /** Most tokens generated per prompt. @default DEFAULT_MAX_NEW_TOKENS (64) */
  maxNewTokens?: number | undefined
  /**
   * Greedy, or top-k / top-p sampling at a temperature from a seed (the same seed gives the
   * same tokens). @default greedy
   * @example { mode: 'sample', seed: 7, temperature: 0.8, topK: 40, topP: 0.95 }
   */
  sampling?: SamplingSpec | undefined
  /** Token ids that end a sequence (not included in its tokens). @default the model's EOS */
  stop?: number[] | undefined
  /**
   * `pipeline`: the layers split over several contributors, activations passed tab to tab
   * (models too big for one tab, or one prompt: the default of `generate`). `batch`: each
   * task runs whole prompts through the whole model (the default of `generateBatch`).
   */
  mode?: 'pipeline' | 'batch' | undefined
  /** Pipeline mode: split the layers into this many stages. @default as the contributors' memory allows */
  stages?: number | undefined
  /** Batch mode: prompts per task. @default the relay's (16) */
  batchSize?: number | undefined
  /** Whole-job timeout; the job is cancelled when it passes. @default GENERATE_TIMEOUT_MS (30 minutes) */
  timeoutMs?: number | undefined
  /** Told the job's state as it changes: its id and cost first, then what it waits for. */
  onProgress?: ((job: JobView) => void) | undefined
}

/** One prompt's generation, from `generateBatch`. */
export interface Generation {
  /** Index of the prompt. */
  index: number
  prompt: string
  /** Token ids generated (verified). */
  tokens: number[]
  /** Their text. */
  text: string
  /** Why it stopped. */
  finish: FinishReason | undefined
}

/** What generation needs of the client. */
export interface GenerationDeps {
  transport: Transport
  submit(spec: JobSpec, options: { signal?: AbortSignal | undefined }): Promise<JobHandle>
  stream?: JobStreamOptions | undefined
}

/**
 * The inference job spec for `prompts` (already tokenized), checked as the relay will
 * check it.
 *
 * @throws {InvalidInputError} naming the option or prompt that is wrong.
 */
export function inferenceSpec(
  model: LoadedModel,
  prompts: number[][],
  options: GenerateOptions,
  defaultMode: 'pipeline' | 'batch',
): InferenceJobSpec {
  prompts.forEach((ids, i) => {
    if (ids.length === 0)
      throw new InvalidInputError(
        `prompt ${i} is empty (no tokens): give the model some text to continue`,
      )
  })
  const spec = {
    kernel: 'inference' as const,
    model: model.ref,
    mode: options.mode ?? defaultMode,
    prompts,
    maxNewTokens: options.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS,
    ...(options.sampling != null ? { sampling: options.sampling } : {}),
    ...(options.stop != null ? { stop: options.stop } : {}),
    ...(options.stages != null ? { stages: options.stages } : {}),
    ...(options.batchSize != null ? { batchSize: options.batchSize } : {}),
    ...(options.verification != null ? { verification: options.verification } : {}),
    ...(options.budget != null ? { budget: options.budget } : {}),
    ...(options.priority != null ? { priority: options.priority } : {}),
    ...(options.deadline != null ? { deadline: options.deadline } : {}),
    ...(options.name != null ? { name: options.name } : {}),
  }
  const parsed = InferenceJobSpecSchema.safeParse(spec)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const field = issue?.path.join('.') || 'spec'
    throw new InvalidInputError(`${field}: ${issue?.message}`)
  }
  return parsed.data
}

/** The caller's signal and the whole-job timeout, as one. */
function stopSignal(options: GenerateOptions): AbortSignal {
  const deadline = AbortSignal.timeout(options.timeoutMs ?? GENERATE_TIMEOUT_MS)
  return options.signal ? AbortSignal.any([options.signal, deadline]) : deadline
}

/**
 * `client.generate`: submits one prompt and yields its tokens as they are accepted. An
 * abort or the timeout cancels the job and throws `JobAbortedError`; so does leaving the
 * loop early (`break`), without the throw: the job stops costing.
 */
export async function* generateTokens(
  deps: GenerationDeps,
  model: LoadedModel,
  prompt: string,
  options: GenerateOptions = {},
): AsyncGenerator<GeneratedToken> {
  const promptIds = model.tokenizer.encode(prompt)
  const spec = inferenceSpec(model, [promptIds], options, 'pipeline')
  const signal = stopSignal(options)
  const job = await deps.submit(spec, { signal })
  if (job.submitted) options.onProgress?.(job.submitted)
  const detok = createIncrementalDetokenizer(model.tokenizer, promptIds)
  let ended = false
  try {
    for await (const { tokens } of followTokens(deps.transport, job.id, {
      sequences: 1,
      signal,
      onProgress: options.onProgress,
      stream: deps.stream,
    })) {
      for (const id of tokens) yield detok.push(id)
    }
    ended = true
  } catch (err) {
    if (signal.aborted) {
      ended = true
      throw new JobAbortedError(job.id, signal.reason, await cancelAfterAbort(job))
    }
    // A job that failed needs no cancel; anything else left it running.
    ended = (err as { name?: string })?.name === 'JobFailedError'
    throw err
  } finally {
    // Left early (break, return, an error thrown by the loop's body): stop paying for it.
    if (!ended) await cancelAfterAbort(job)
  }
}

/**
 * `client.generateBatch`: submits every prompt in one job (batch mode unless `mode` says
 * otherwise), waits for it, and returns each prompt's generation from
 * `GET /v1/jobs/:id/output`.
 */
export async function generateBatch(
  deps: GenerationDeps,
  model: LoadedModel,
  prompts: readonly string[],
  options: GenerateOptions = {},
): Promise<Generation[]> {
  if (!Array.isArray(prompts) || prompts.length === 0)
    throw new InvalidInputError('generateBatch needs at least one prompt')
  const ids = prompts.map((prompt) => model.tokenizer.encode(prompt))
  const spec = inferenceSpec(model, ids, options, 'batch')
  const signal = stopSignal(options)
  const job = await deps.submit(spec, { signal })
  if (job.submitted) options.onProgress?.(job.submitted)
  await job.wait({ signal, onProgress: options.onProgress })
  const output = await readInferenceOutput(deps.transport, job.id, prompts.length, signal)
  return output.sequences.map((sequence, index) => ({
    index,
    prompt: prompts[index]!,
    tokens: sequence.tokens,
    text: model.tokenizer.decode(sequence.tokens),
    finish: sequence.finish,
  }))
}
