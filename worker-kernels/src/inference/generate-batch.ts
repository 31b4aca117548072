import type { SamplingSpec } from '@tabswarm/protocol'
import type { KernelRunOptions } from '../host/kernel-types.ts'
import type { DecoderStage } from './decoder-stage.ts'
import { createTopLogitsSampler, promptSampling } from './sample-top-logits.ts'

/** What `generateBatch` generates: a `decoder-generate` task's program, less the weights. */
export type GenerateBatchOptions = {
  prompts: readonly Int32Array[]
  maxNewTokens: number
  sampling: SamplingSpec
  /** Token ids that end a sequence; not written. */
  stop: readonly number[]
  /** Logits kept per generated position, for the verifier. */
  topLogits: number
  /** Index of the first prompt in its job: prompt `i` samples with seed `seed + firstPrompt + i`. */
  firstPrompt: number
}

/** The outputs of a `decoder-generate` task. */
export type GenerateBatchResult = {
  /** `[batch, maxNewTokens]`, −1 after a sequence stops. */
  tokens: Int32Array
  /**
   * `[batch, maxNewTokens, topLogits]`, largest first, for every position run (the one
   * that chose a stop token included); −1 ids and 0 logits past a sequence's end.
   */
  ids: Int32Array
  logits: Float32Array
}

/**
 * Generate from a batch of prompts through `stage` (the whole model: layers 0 … L−1 with
 * the embedding and the head), one sequence after another, each with its own KV cache:
 * prefill the prompt, then one position per token, choosing each token from the
 * `topLogits` largest logits (`createTopLogitsSampler`). Stops a sequence at a stop token
 * (not written), after `maxNewTokens`, or when the context is full.
 *
 * @example
 * const out = await generateBatch(stage, { prompts, maxNewTokens: 8, sampling: { mode: 'greedy' },
 *   stop: [eos], topLogits: 8, firstPrompt: 0 }, { signal, timeoutMs: 60_000 })
 */
export async function generateBatch(
  stage: DecoderStage,
  options: GenerateBatchOptions,
  runOptions: KernelRunOptions = {},
): Promise<GenerateBatchResult> {
  const { config } = stage
  if (stage.fromLayer !== 0 || stage.toLayer !== config.layers)
    throw new RangeError(
      `batch generation needs the whole model, the stage holds layers ${stage.fromLayer}…${stage.toLayer - 1}`,
    )
  const { prompts, maxNewTokens, topLogits } = options
  const batch = prompts.length
  const tokens = new Int32Array(batch * maxNewTokens).fill(-1)
  const ids = new Int32Array(batch * maxNewTokens * topLogits).fill(-1)
  const logits = new Float32Array(batch * maxNewTokens * topLogits)
  const stop = new Set(options.stop)
  for (let b = 0; b < batch; b++) {
    runOptions.signal?.throwIfAborted()
    const prompt = prompts[b] as Int32Array
    const choose = createTopLogitsSampler(promptSampling(options.sampling, options.firstPrompt + b))
    const cache = stage.createCache()
    let input = prompt
    for (let t = 0; t < maxNewTokens; t++) {
      if (cache.length + input.length > config.maxPositions) break
      const hidden = await stage.forward({ tokens: input }, cache, runOptions)
      const last = hidden.subarray(hidden.length - config.hiddenSize)
      const top = await stage.topLogits(last, topLogits, runOptions)
      const at = (b * maxNewTokens + t) * topLogits
      ids.set(top.ids, at)
      logits.set(top.logits, at)
      const token = choose(top)
      if (stop.has(token)) break
      tokens[b * maxNewTokens + t] = token
      input = Int32Array.of(token)
    }
  }
  return { tokens, ids, logits }
}
