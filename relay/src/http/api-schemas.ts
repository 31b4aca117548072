import {
  AddressSchema,
  Bytes32Schema,
  ClaimProofSchema,
  EpochSummarySchema,
  JobIdSchema,
  JobStatusSchema,
  RelayEntrySchema,
} from '@tabswarm/protocol'
import { z } from 'zod'

/**
 * Schemas of the API's parameters and of the answers only the relay's own routes give.
 * Requests are parsed with them; answers are described with them in `/v1/openapi.json`,
 * so the description cannot drift from the code. The views of jobs, results, quotes and
 * accounts, which the SDK reads too, are `@tabswarm/protocol`'s (`api-views.ts`).
 */

export const BlobHashSchema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'expected a lower-case hex sha-256, as returned by PUT /v1/blobs')
  .meta({
    description: 'sha-256 of the blob bytes, lower-case hex',
    example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  })

export const AccountIdSchema = z
  .string()
  .regex(
    /^(0x[0-9a-fA-F]{40}|(?!0x)[A-Za-z0-9][A-Za-z0-9._-]{0,63})$/,
    'expected a wallet address (0x + 40 hex) or an account name',
  )
  .meta({ description: 'A wallet address or an API-key account name' })

export const BlobParamsSchema = z.object({ hash: BlobHashSchema })
export const JobParamsSchema = z.object({ id: JobIdSchema })
export const AccountParamsSchema = z.object({ address: AccountIdSchema })

const limit = (max: number, fallback: number) =>
  z.coerce.number().int('limit must be an integer').min(1).max(max).default(fallback)

export const ListJobsQuerySchema = z.strictObject({
  status: JobStatusSchema.optional(),
  idPrefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'idPrefix must be 1-64 of [A-Za-z0-9_-]: the start of a job id')
    .optional()
    .meta({
      description:
        'Only jobs whose id starts with this (as a string: `_` is no wildcard). Ask with limit=2 to tell a unique prefix from an ambiguous one.',
    }),
  limit: limit(500, 100).meta({ description: 'Jobs per page' }),
  cursor: z.string().max(256).optional().meta({ description: 'nextCursor of the previous page' }),
})

export const ResultsQuerySchema = z.strictObject({
  after: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .meta({ description: 'Only results with seq greater than this' }),
  limit: limit(1000, 256),
})

export const EventsQuerySchema = z.strictObject({
  after: z.coerce.number().int().min(0).optional().meta({
    description: 'Resume after this result seq (WebSocket; SSE clients send Last-Event-ID)',
  }),
  // Not z.coerce.boolean: it reads the string "false" as true.
  results: z
    .enum(['true', 'false'], 'results must be true or false')
    .default('true')
    .transform((v) => v === 'true')
    .meta({
      description:
        'false: only progress and the terminal event, no result events (a client that waits for the end)',
    }),
})

export const OutputQuerySchema = z.strictObject({
  format: z.enum(['raw', 'npy']).default('raw').meta({
    description:
      'raw: little-endian float32, C order, shape in x-tabswarm-shape; npy: a numpy .npy file',
  }),
})

export const BlobRefSchema = z.object({ blob: BlobHashSchema, size: z.number().int() })

export const HealthSchema = z.looseObject({ ok: z.boolean() })

export const SwarmSchema = z.looseObject({
  peerId: z.string(),
  multiaddrs: z.array(z.string()),
  settlement: z
    .boolean()
    .optional()
    .meta({ description: 'Whether credits settle on chain here (`/v1/settlement` answers)' }),
  relays: z.array(RelayEntrySchema).meta({
    description:
      'The cluster’s relays: this one first, then the others seen alive lately, for tabs and workers to fail over to',
  }),
})

export const JobEventSchema = z.object({
  event: z.enum(['progress', 'result', 'completed', 'failed', 'cancelled']),
  id: z
    .string()
    .optional()
    .meta({ description: 'Highest result seq delivered so far (Last-Event-ID)' }),
  data: z.unknown().meta({ description: 'result: a TaskResultRecord; otherwise { job: JobView }' }),
})

/** `/v1/settlement/accounts/:address`: a wallet, never an account name. */
export const WalletParamsSchema = z.object({ address: AddressSchema })

export const EpochParamsSchema = z.object({
  n: z.coerce.number().int('the epoch is an integer').min(1).meta({ description: 'Epoch number' }),
})

export const EpochListQuerySchema = z.strictObject({
  limit: limit(100, 20).meta({ description: 'Epochs per page' }),
  before: z.coerce.number().int().min(1).optional().meta({
    description: 'Only epochs numbered below this: the previous page’s next',
  }),
})

export const EpochListSchema = z.object({
  epochs: z.array(EpochSummarySchema).meta({ description: 'Newest first' }),
  next: z
    .number()
    .int()
    .nullable()
    .meta({ description: 'before= of the next page; null: the last page' }),
})

/** The epoch closed or, when nothing changed since, the latest one: an EpochSummary either way. */
export const CloseEpochResultSchema = EpochSummarySchema.extend({
  closed: z.boolean().meta({
    description: 'true: this epoch was just closed; false: nothing new since it, none was',
  }),
  message: z.string().meta({ description: 'What happened, in words' }),
})

export const ClaimsBodySchema = z.strictObject({
  accounts: z
    .array(AddressSchema)
    .min(1, 'name at least one account')
    .max(32, 'at most 32 accounts per request')
    .meta({ description: 'Wallets to claim for; the tokens go to each wallet, whoever asks' }),
})

export const ClaimsResultSchema = z.object({
  txHash: Bytes32Schema,
  claims: z.array(ClaimProofSchema).meta({ description: 'The claims the transaction carries' }),
  skipped: z.array(z.object({ account: AddressSchema, reason: z.string() })).meta({
    description: 'Accounts named but left out: not in the root, or nothing left to claim',
  }),
})
