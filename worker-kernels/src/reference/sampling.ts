/**
 * Choosing the next token from logits: greedy, or top-k / top-p (nucleus) sampling with a
 * temperature and a seed, and a reference generation loop over `DecoderSession`.
 *
 * Every choice is a pure function of the logits and a seeded PRNG (`seededRandom`,
 * mulberry32), with ties broken toward the lower token id, so the same seed gives the same
 * tokens on any engine, and a pipeline that samples the same way can be checked token for
 * token against this reference.
 */
import { type DecoderReference, DecoderSession } from './decoder-reference.ts'
import { seededRandom } from './seeded-random.ts'

/** How to choose each token. */
export type SamplingOptions =
  | { mode: 'greedy' }
  | {
      mode: 'sample'
      /** PRNG seed (any 32-bit integer): the same seed gives the same tokens. */
      seed: number
      /** Logits are divided by it before the softmax; > 0. @default 1 */
      temperature?: number | undefined
      /** Keep only the k most likely tokens; ≥ 1. @default every token */
      topK?: number | undefined
      /**
       * Keep the smallest set of most likely tokens whose probability reaches p
       * (after top-k); in (0, 1]. @default 1
       */
      topP?: number | undefined
    }

/** Options of `generateReference`. */
export type GenerateOptions = {
  /** Most tokens to generate (stop tokens included in the count); ≥ 0. */
  maxTokens: number
  /** @default greedy */
  sampling?: SamplingOptions
  /** Token ids that end the generation; the stop token is not yielded. */
  stop?: readonly number[]
}

/** The id of the largest logit, the lowest id on a tie. NaN logits are refused. */
export function greedyToken(logits: ArrayLike<number>): number {
  if (logits.length === 0) throw new RangeError('no logits to choose from')
  let best = 0
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i] as number
    if (Number.isNaN(v)) throw new RangeError(`logit ${i} is NaN: the forward pass diverged`)
    if (v > (logits[best] as number)) best = i
  }
  return best
}

/**
 * The candidates top-k and top-p keep, most likely first, with their probabilities
 * renormalized over the kept set (at temperature `temperature`). Exposed so a test (or a
 * verifier) can check a sampled token lies in the nucleus.
 */
export function samplingCandidates(
  logits: ArrayLike<number>,
  options: {
    temperature?: number | undefined
    topK?: number | undefined
    topP?: number | undefined
  },
): { tokens: number[]; probabilities: number[] } {
  const temperature = options.temperature ?? 1
  const topK = options.topK ?? logits.length
  const topP = options.topP ?? 1
  if (!(temperature > 0 && Number.isFinite(temperature))) {
    throw new RangeError(`temperature ${temperature} must be > 0 (use mode 'greedy' for 0)`)
  }
  if (!(Number.isInteger(topK) && topK >= 1)) {
    throw new RangeError(`topK ${topK} must be an integer ≥ 1`)
  }
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`topP ${topP} must be in (0, 1]`)
  if (logits.length === 0) throw new RangeError('no logits to choose from')
  for (let i = 0; i < logits.length; i++) {
    if (Number.isNaN(logits[i])) {
      throw new RangeError(`logit ${i} is NaN: the forward pass diverged`)
    }
  }
  const order = Array.from({ length: logits.length }, (_, i) => i).sort(
    (a, b) => (logits[b] as number) - (logits[a] as number) || a - b,
  )
  const kept = order.slice(0, Math.min(topK, order.length))
  const top = logits[kept[0] as number] as number
  const weights = kept.map((t) => Math.exp(((logits[t] as number) - top) / temperature))
  const total = weights.reduce((s, w) => s + w, 0)
  let probabilities = weights.map((w) => w / total)
  if (topP < 1) {
    let cumulative = 0
    let count = 0
    // The smallest prefix reaching topP; always at least the most likely token.
    while (count < probabilities.length && cumulative < topP) {
      cumulative += probabilities[count] as number
      count++
    }
    kept.length = count
    probabilities = probabilities.slice(0, count).map((p) => p / cumulative)
  }
  return { tokens: kept, probabilities }
}

/**
 * A token chooser for `options`: a function of the logits that, for `'sample'`, draws from
 * its own PRNG stream (one draw a token), so successive calls reproduce from the seed.
 */
export function createSampler(options: SamplingOptions): (logits: ArrayLike<number>) => number {
  if (options.mode === 'greedy') return greedyToken
  if (options.mode !== 'sample') {
    throw new RangeError(
      `sampling mode '${(options as { mode: unknown }).mode}' is not 'greedy' or 'sample'`,
    )
  }
  if (!Number.isInteger(options.seed)) {
    throw new RangeError(`seed ${options.seed} must be an integer`)
  }
  // Validate once, up front, rather than at the first token.
  samplingCandidates([0], options)
  const next = seededRandom(options.seed)
  return (logits) => {
    const { tokens, probabilities } = samplingCandidates(logits, options)
    const u = next()
    let cumulative = 0
    for (let i = 0; i < tokens.length; i++) {
      cumulative += probabilities[i] as number
      if (u < cumulative) return tokens[i] as number
    }
    // u is below 1 but the sum of the probabilities may round a little below it.
    return tokens[tokens.length - 1] as number
  }
}

/**
 * Generate from `model` after `promptTokens`, yielding each new token as it is chosen:
 * the reference a pipeline's tokens are checked against. Deterministic for a given model,
 * prompt and options. Stops after `maxTokens`, at a `stop` token (not yielded), or when
 * the context is full.
 */
export function* generateReference(
  model: DecoderReference,
  promptTokens: ArrayLike<number>,
  options: GenerateOptions,
): Generator<number, void, undefined> {
  const { maxTokens, stop = [] } = options
  if (!(Number.isInteger(maxTokens) && maxTokens >= 0)) {
    throw new RangeError(`maxTokens ${maxTokens} must be an integer ≥ 0`)
  }
  if (promptTokens.length === 0) throw new RangeError('the prompt needs at least one token')
  const choose = createSampler(options.sampling ?? { mode: 'greedy' })
  const context = model.config.maxPositions
  if (promptTokens.length > context) {
    throw new RangeError(
      `the prompt's ${promptTokens.length} tokens exceed the model's context of ${context}`,
    )
  }
  if (maxTokens === 0) return
  const session = new DecoderSession(model)
  let logits = session.prefill(promptTokens)
  for (let n = 0; n < maxTokens; n++) {
    const token = choose(logits)
    if (stop.includes(token)) return
    yield token
    // The last token needs no logits, and the context may have no room for it.
    if (n === maxTokens - 1 || session.length >= context) return
    logits = session.step(token)
  }
}
