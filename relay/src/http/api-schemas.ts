import { TensorRefSchema } from '@tabswarm/protocol'
import { z } from 'zod'

/**
 * Schemas of the API's parameters and answers. Requests are parsed with them; answers are
 * described with them in `/v1/openapi.json`, so the description cannot drift from the code.
 */

export const BlobHashSchema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'expected a lower-case hex sha-256, as returned by PUT /v1/blobs')
  .meta({
    description: 'sha-256 of the blob bytes, lower-case hex',
    example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  })

export const JobIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9_-]{1,64}$/,
    'expected a job id (1-64 of [A-Za-z0-9_-]) as returned by POST /v1/jobs',
  )
  .meta({ description: 'Job id, as returned by POST /v1/jobs' })

export const AccountIdSchema = z
  .string()
  .regex(
    /^(0x[0-9a-fA-F]{40}|(?!0x)[A-Za-z0-9][A-Za-z0-9._-]{0,63})$/,
    'expected a wallet address (0x + 40 hex) or an account name',
  )
  .meta({ description: 'A wallet address or an API-key account name' })

export const JobStatusSchema = z.enum(['running', 'completed', 'failed', 'cancelled'])

export const BlobParamsSchema = z.object({ hash: BlobHashSchema })
export const JobParamsSchema = z.object({ id: JobIdSchema })
export const AccountParamsSchema = z.object({ address: AccountIdSchema })

const limit = (max: number, fallback: number) =>
  z.coerce.number().int('limit must be an integer').min(1).max(max).default(fallback)

export const ListJobsQuerySchema = z.strictObject({
  status: JobStatusSchema.optional(),
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

export const ErrorSchema = z.object({
  error: z.object({
    code: z.string().meta({ description: 'Stable, machine-matchable, e.g. INVALID_BODY' }),
    message: z.string().meta({ description: 'What is wrong, naming the field' }),
  }),
})

export const BlobRefSchema = z.object({ blob: BlobHashSchema, size: z.number().int() })

export const JobViewSchema = z.looseObject({
  id: JobIdSchema,
  kernel: z.enum(['matmul', 'custom']),
  name: z.string().optional(),
  owner: z.string().meta({ description: 'Account name or wallet address that submitted and pays' }),
  status: JobStatusSchema,
  args: z
    .object({ m: z.number().int(), k: z.number().int(), n: z.number().int() })
    .optional()
    .meta({ description: 'Matmul only: C is m×n' }),
  priority: z.number().int(),
  deadline: z.number().optional().meta({ description: 'ms since the epoch' }),
  tasks: z.object({
    total: z.number().int(),
    accepted: z.number().int(),
    leased: z.number().int(),
    rejectedResults: z.number().int(),
  }),
  credits: z.object({ budget: z.number(), spent: z.number(), refunded: z.number() }).meta({
    description: 'Escrowed at submit, spent on accepted results, the rest refunded at the end',
  }),
  createdAt: z.number().meta({ description: 'ms since the epoch' }),
  finishedAt: z.number().optional(),
  error: z.string().optional(),
})

export const JobListSchema = z.object({
  jobs: z.array(JobViewSchema),
  nextCursor: z.string().optional(),
})

export const JobResultSchema = z.object({
  seq: z.number().int().meta({ description: 'Acceptance order; the resume cursor' }),
  taskId: z.string(),
  index: z.number().int(),
  outputs: z.array(TensorRefSchema),
})

export const ResultsPageSchema = z.object({
  results: z.array(JobResultSchema),
  cursor: z.number().int().meta({ description: 'Pass as after to read on' }),
  done: z.boolean().meta({ description: 'The job is over and every result has been read' }),
})

export const QuoteSchema = z.looseObject({
  flops: z.number(),
  tasks: z.number().int(),
  credits: z.number(),
})

export const AccountSchema = z.object({
  account: z.string(),
  balance: z.number().meta({ description: 'Spendable credits' }),
  escrowed: z.number().meta({ description: 'Held for running jobs' }),
  earned: z.number().meta({ description: 'Paid for verified work, ever' }),
  pending: z.number().meta({ description: 'Earned on jobs still running' }),
})

export const HealthSchema = z.looseObject({ ok: z.boolean() })

export const SwarmSchema = z.looseObject({ peerId: z.string(), multiaddrs: z.array(z.string()) })

export const JobEventSchema = z.object({
  event: z.enum(['progress', 'result', 'completed', 'failed', 'cancelled']),
  id: z
    .string()
    .optional()
    .meta({ description: 'Highest result seq delivered so far (Last-Event-ID)' }),
  data: z.unknown().meta({ description: 'result: a JobResult; otherwise { job: JobView }' }),
})
