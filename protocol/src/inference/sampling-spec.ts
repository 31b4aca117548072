import { z } from 'zod'
import { MAX_TOP_LOGITS } from './inference-limits.ts'

/**
 * How each token is chosen: greedy, or top-k / top-p (nucleus) sampling at a temperature
 * from a seeded PRNG. The same shape as `SamplingOptions` of `@tabswarm/worker-kernels`'
 * reference sampler (`createSampler`), so a generation can be replayed token for token.
 *
 * In pipeline mode the coordinator draws each token from the top `MAX_TOP_LOGITS` logits
 * the last stage returns; with `topK` at most that, the draw is exactly the reference's.
 */
export const SamplingSpecSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('greedy') }),
  z.object({
    mode: z.literal('sample'),
    /** Any 32-bit integer: the same seed gives the same tokens. */
    seed: z
      .number()
      .int()
      .min(-(2 ** 31))
      .max(2 ** 32 - 1),
    /** @default 1 */
    temperature: z.number().positive().max(100).optional(),
    /** @default every token the last stage returns (`MAX_TOP_LOGITS` at most) */
    topK: z.number().int().min(1).max(MAX_TOP_LOGITS).optional(),
    /** @default 1 */
    topP: z.number().gt(0).max(1).optional(),
  }),
])
export type SamplingSpec = z.infer<typeof SamplingSpecSchema>
