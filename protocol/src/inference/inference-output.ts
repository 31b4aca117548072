import { z } from 'zod'

/** Why a sequence stopped generating. */
export const FinishReasonSchema = z.enum([
  /** It produced a stop token (not included in `tokens`). */
  'stop',
  /** It generated `maxNewTokens`. */
  'length',
  /** Prompt and tokens filled the model's context (`maxPositions`). */
  'context',
])
export type FinishReason = z.infer<typeof FinishReasonSchema>

const tokenId = z.number().int().min(0)

/** One prompt's generation so far. */
export const GeneratedSequenceSchema = z.object({
  /** Index of its prompt in the spec's `prompts`. */
  index: z.number().int().min(0),
  /** Token ids generated (verified), in order. */
  tokens: z.array(tokenId),
  /** Set once the sequence is done. */
  finish: FinishReasonSchema.optional(),
})
export type GeneratedSequence = z.infer<typeof GeneratedSequenceSchema>

/** `GET /v1/jobs/:id/output` of an inference job: every sequence, in prompt order. */
export const InferenceOutputSchema = z.object({
  sequences: z.array(GeneratedSequenceSchema),
})
export type InferenceOutput = z.infer<typeof InferenceOutputSchema>

/**
 * A job event of an inference job (`GET /v1/jobs/:id/events`, SSE `event: tokens`): the
 * tokens of one sequence accepted since the last such event, from position `from` of its
 * generated tokens. `finish` is set on the sequence's last event.
 */
export const TokensEventSchema = z.object({
  type: z.literal('tokens'),
  sequence: z.number().int().min(0),
  from: z.number().int().min(0),
  tokens: z.array(tokenId),
  finish: FinishReasonSchema.optional(),
})
export type TokensEvent = z.infer<typeof TokensEventSchema>
