import {
  alignedViewAs,
  batchPromptsOf,
  DEFAULT_TOP_LOGITS,
  type FinishReason,
  type InferenceJobSpec,
  MAX_TOP_LOGITS,
  type SamplingSpec,
} from '@tabswarm/protocol'
import {
  createTopLogitsSampler,
  type DecoderKvCache,
  type DecoderReference,
  promptSampling,
  type TopLogitsResult,
} from '@tabswarm/worker-kernels'
import type { ModelWeights } from './model-weights.ts'
import { type StagePlan, splitStages } from './stage-plan.ts'

/**
 * The working set of an inference job beside its `JobRuntime`: the model's weights as
 * byte ranges, its stages, and each sequence's generation so far. Tasks are fixed at submit
 * (batch: one per `batchSize` prompts; pipeline: prompts × maxNewTokens × stages, index
 * `((sequence · maxNewTokens) + step) · stages + stage`), but a pipeline task is queued
 * only once its predecessor is accepted, and a sequence's tasks past its end are closed.
 */

/** The input of a stage's current step, once it is ready. */
export interface PendingInput {
  /** int32 tokens (stage 0) or float32 `[rows, hiddenSize]` activations. */
  bytes: Uint8Array
  /** Its hash, registered as a job part on first lease. */
  sha256?: string
  /** The peer whose accepted `hidden` it is: named first among its providers. */
  producer?: string
}

export interface SequenceState {
  /** Index of its prompt in the spec. */
  index: number
  prompt: Int32Array
  /** Tokens chosen (verified), in order. */
  tokens: number[]
  finish?: FinishReason
  /** Tokens the job's listeners have been told of. */
  told: number
  /** The coordinator's token chooser (pipeline): one draw per token, in order. */
  choose: (top: TopLogitsResult) => number
  /** Pipeline: the step and stage whose task is ready or running now. */
  step: number
  stage: number
  /** Per stage: the inputs it accepted, in position order (what a replay prefix is made of). */
  history: Uint8Array[][]
  /** Per stage: the current step's input, once ready. */
  pending: Array<PendingInput | undefined>
  /** Per stage: who ran its last accepted step (and so holds the sequence's KV cache there). */
  holder: Array<string | undefined>
  /** When the current task became ready (ms): the holder's head start ends after the hold. */
  readyAt: number
  /** Per stage: the last replay prefix registered, by the positions it covers. */
  prefix: Array<{ positions: number; sha256: string } | undefined>
}

export interface InferenceInputs {
  kind: 'inference'
  /** The spec, with `stages` resolved (pipeline). */
  spec: InferenceJobSpec
  weights: ModelWeights
  /** Batch: one stage, the whole model. */
  stages: StagePlan[]
  /** Logits a task returns per position. */
  topLogits: number
  stop: Set<number>
  sampling: SamplingSpec
  sequences: SequenceState[]
  /** sha-256 of each weight range, worked out on its first lease (a job part from then on). */
  weightHashes: Map<string, string>
  /** Tasks closed without running: their sequence ended. */
  closed: Set<number>
  /** The CPU references a verifier binds, per stage, on first need. */
  references: Map<number, DecoderReference>
  /**
   * The verifier's KV caches by `sequence/stage`, kept between its checks of a sequence so
   * that each check runs only the new positions; dropped when the sequence ends.
   */
  relayCaches: Map<string, DecoderKvCache>
}

/** Logits per position a task returns: `DEFAULT_TOP_LOGITS`, or the sampling's `topK` if larger. */
export function topLogitsFor(spec: InferenceJobSpec): number {
  const topK = spec.sampling?.mode === 'sample' ? (spec.sampling.topK ?? 0) : 0
  return Math.min(spec.model.config.vocabSize, MAX_TOP_LOGITS, Math.max(DEFAULT_TOP_LOGITS, topK))
}

/** Tasks of an inference job (the spec's `stages` resolved for a pipeline). */
export function inferenceTaskCount(spec: InferenceJobSpec): number {
  if (spec.mode === 'batch') return Math.ceil(spec.prompts.length / batchPromptsOf(spec))
  return spec.prompts.length * spec.maxNewTokens * (spec.stages ?? 1)
}

/** Token ids that end a sequence: the spec's, else the model's EOS. */
export function stopTokensOf(spec: InferenceJobSpec): number[] {
  if (spec.stop != null) return spec.stop
  const eos = spec.model.config.eosTokenId
  return eos == null ? [] : [eos]
}

/** A pipeline task's place: which sequence, step and stage. */
export function pipelinePlace(inputs: InferenceInputs, index: number) {
  const stages = inputs.stages.length
  const steps = inputs.spec.maxNewTokens
  return {
    sequence: Math.floor(index / (steps * stages)),
    step: Math.floor(index / stages) % steps,
    stage: index % stages,
  }
}

export function pipelineIndex(
  inputs: InferenceInputs,
  sequence: number,
  step: number,
  stage: number,
): number {
  return (sequence * inputs.spec.maxNewTokens + step) * inputs.stages.length + stage
}

/** Batch mode: the prompts of task `index`, `[first, end)`. */
export function batchPrompts(inputs: InferenceInputs, index: number) {
  const size = batchPromptsOf(inputs.spec)
  const first = index * size
  return { first, end: Math.min(first + size, inputs.spec.prompts.length) }
}

/** Where step `step` starts and how many positions it runs: the prefill, then one a token. */
export function stepRows(prompt: Int32Array, step: number) {
  return step === 0
    ? { start: 0, rows: prompt.length }
    : { start: prompt.length + step - 1, rows: 1 }
}

const int32Bytes = (values: ArrayLike<number>) => new Uint8Array(Int32Array.from(values).buffer)

/** The working set of a new (or resumed, before its results are replayed) inference job. */
export function createInferenceInputs(
  spec: InferenceJobSpec,
  weights: ModelWeights,
  now: number,
): InferenceInputs {
  const stages = splitStages(weights, spec.mode === 'batch' ? 1 : (spec.stages ?? 1))
  const sampling = spec.sampling ?? { mode: 'greedy' }
  const sequences = spec.prompts.map((prompt, index): SequenceState => {
    const tokens = Int32Array.from(prompt)
    return {
      index,
      prompt: tokens,
      tokens: [],
      told: 0,
      choose: createTopLogitsSampler(promptSampling(sampling, index)),
      step: 0,
      stage: 0,
      history: stages.map(() => []),
      pending: stages.map((_, s) => (s === 0 ? { bytes: int32Bytes(tokens) } : undefined)),
      holder: stages.map(() => undefined),
      readyAt: now,
      prefix: stages.map(() => undefined),
    }
  })
  return {
    kind: 'inference',
    spec,
    weights,
    stages,
    topLogits: topLogitsFor(spec),
    stop: new Set(stopTokensOf(spec)),
    sampling,
    sequences,
    weightHashes: new Map(),
    closed: new Set(),
    references: new Map(),
    relayCaches: new Map(),
  }
}

/** The tasks ready at the start: every batch not accepted; each live sequence's current step. */
export function initialReady(inputs: InferenceInputs, accepted: ReadonlySet<number>): number[] {
  if (inputs.spec.mode === 'batch') {
    const ready: number[] = []
    for (let i = 0; i < inferenceTaskCount(inputs.spec); i++) if (!accepted.has(i)) ready.push(i)
    return ready
  }
  return inputs.sequences
    .filter((seq) => seq.finish == null)
    .map((seq) => pipelineIndex(inputs, seq.index, seq.step, seq.stage))
}

/** What accepting one task changed: tasks now ready, tasks closed, sequences with new tokens. */
export interface InferenceAdvance {
  ready: number[]
  closed: number[]
  /** Sequences that got tokens (or their finish) from this task. */
  sequences: SequenceState[]
}

/**
 * Applies an accepted task's outputs to the job's sequences (live, and replayed from the
 * store at a restart, in acceptance order): a stage's `hidden` becomes the next stage's
 * input; the last stage's top logits give the next token (`choose`); a batch's tokens are
 * its sequences'. A sequence that stops, reaches `maxNewTokens` or fills the context ends,
 * and its tasks not run yet are closed. `register` makes bytes a job part, returning their
 * hash.
 */
export function advanceInference(
  inputs: InferenceInputs,
  index: number,
  outputs: readonly Uint8Array[],
  producer: string | undefined,
  now: number,
  register: (bytes: Uint8Array) => string,
): InferenceAdvance {
  const { spec } = inputs
  if (spec.mode === 'batch') {
    const { first, end } = batchPrompts(inputs, index)
    const tokens = alignedViewAs('int32', outputs[0]!)
    const ids = alignedViewAs('int32', outputs[1]!)
    const k = inputs.topLogits
    const steps = spec.maxNewTokens
    const changed: SequenceState[] = []
    for (let p = first; p < end; p++) {
      const seq = inputs.sequences[p]!
      const b = p - first
      const row = tokens.subarray(b * steps, (b + 1) * steps)
      let n = 0
      while (n < steps && (row[n] as number) >= 0) n++
      seq.tokens = Array.from(row.subarray(0, n))
      seq.finish =
        n === steps ? 'length' : (ids[(b * steps + n) * k] as number) >= 0 ? 'stop' : 'context'
      changed.push(seq)
    }
    return { ready: [], closed: [], sequences: changed }
  }
  const place = pipelinePlace(inputs, index)
  const seq = inputs.sequences[place.sequence]!
  if (seq.finish != null || place.step !== seq.step || place.stage !== seq.stage)
    return { ready: [], closed: [], sequences: [] }
  const stages = inputs.stages.length
  seq.history[place.stage]!.push(seq.pending[place.stage]!.bytes)
  seq.pending[place.stage] = undefined
  seq.holder[place.stage] = producer
  seq.readyAt = now
  if (place.stage < stages - 1) {
    const bytes = outputs[0]!
    seq.pending[place.stage + 1] = {
      bytes,
      sha256: register(bytes),
      ...(producer != null ? { producer } : {}),
    }
    seq.stage++
    return { ready: [index + 1], closed: [], sequences: [] }
  }
  const top: TopLogitsResult = {
    ids: alignedViewAs('int32', outputs[0]!),
    logits: alignedViewAs('float32', outputs[1]!),
  }
  const token = seq.choose(top)
  if (inputs.stop.has(token)) seq.finish = 'stop'
  else {
    seq.tokens.push(token)
    if (seq.tokens.length >= spec.maxNewTokens) seq.finish = 'length'
    else if (seq.prompt.length + seq.tokens.length > spec.model.config.maxPositions)
      seq.finish = 'context'
  }
  if (seq.finish == null) {
    seq.step++
    seq.stage = 0
    seq.pending[0] = { bytes: int32Bytes([token]) }
    return { ready: [pipelineIndex(inputs, seq.index, seq.step, 0)], closed: [], sequences: [seq] }
  }
  for (let s = 0; s < stages; s++) inputs.relayCaches.delete(`${seq.index}/${s}`)
  const closed: number[] = []
  for (let step = place.step + 1; step < spec.maxNewTokens; step++)
    for (let stage = 0; stage < stages; stage++)
      closed.push(pipelineIndex(inputs, seq.index, step, stage))
  for (const i of closed) inputs.closed.add(i)
  return { ready: [], closed, sequences: [seq] }
}

/**
 * Useful flops of task `index`, as the job is priced: ≈ 2 per parameter the task binds per
 * position it runs (a batch: every prompt and every token but the last of each).
 */
export function inferenceTaskFlops(inputs: InferenceInputs, index: number): number {
  const { spec } = inputs
  if (spec.mode === 'batch') {
    const { first, end } = batchPrompts(inputs, index)
    let positions = 0
    for (let p = first; p < end; p++)
      positions += (spec.prompts[p]?.length ?? 0) + spec.maxNewTokens - 1
    return 2 * inputs.weights.parameters * positions
  }
  const place = pipelinePlace(inputs, index)
  const seq = inputs.sequences[place.sequence]
  const stage = inputs.stages[place.stage]
  if (seq == null || stage == null) return 0
  return 2 * stage.parameters * stepRows(seq.prompt, place.step).rows
}
