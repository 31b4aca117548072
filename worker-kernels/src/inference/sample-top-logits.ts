import type { SamplingSpec } from '@tabswarm/protocol'
import { greedyToken, samplingCandidates } from '../reference/sampling.ts'
import { seededRandom } from '../reference/seeded-random.ts'
import type { TopLogitsResult } from './decoder-stage.ts'

/**
 * A token chooser over top-logit lists (`topLogitsOf`): greedy takes the first; sampling
 * draws from `samplingCandidates` over the list's values with a seeded PRNG, one draw a
 * token, so the coordinator (pipeline) and a tab (batch) draw the same tokens from the same
 * logits, and a restart can resume a sequence by skipping the draws already made.
 *
 * Sampling sees only the listed candidates: with `topK` at most the list's length it is
 * exactly the reference sampler's draw; with a wider nucleus, the tail past the list is cut.
 *
 * @example
 * const choose = createTopLogitsSampler({ mode: 'sample', seed: 7, topP: 0.9 })
 * const token = choose(top)
 */
export function createTopLogitsSampler(
  sampling: SamplingSpec,
  options: { skipDraws?: number } = {},
): (top: TopLogitsResult) => number {
  if (sampling.mode === 'greedy') {
    return (top) => {
      if (top.ids.length === 0) throw new RangeError('no logits to choose from')
      return top.ids[greedyToken(top.logits)] as number
    }
  }
  const next = seededRandom(sampling.seed | 0)
  for (let i = 0; i < (options.skipDraws ?? 0); i++) next()
  const shape = {
    ...(sampling.temperature != null ? { temperature: sampling.temperature } : {}),
    ...(sampling.topK != null ? { topK: sampling.topK } : {}),
    ...(sampling.topP != null ? { topP: sampling.topP } : {}),
  }
  return (top) => {
    const { tokens, probabilities } = samplingCandidates(top.logits, shape)
    const u = next()
    let cumulative = 0
    for (let i = 0; i < tokens.length; i++) {
      cumulative += probabilities[i] as number
      if (u < cumulative) return top.ids[tokens[i] as number] as number
    }
    return top.ids[tokens[tokens.length - 1] as number] as number
  }
}

/** The sampling of prompt `index` of a job: the job's, with the seed moved by the index. */
export function promptSampling(sampling: SamplingSpec, index: number): SamplingSpec {
  return sampling.mode === 'greedy' ? sampling : { ...sampling, seed: (sampling.seed + index) | 0 }
}
