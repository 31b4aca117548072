/**
 * What the HTTP API answers with: the views of jobs, results, quotes and accounts. The
 * relay describes its answers with these schemas in `/v1/openapi.json` and builds them as
 * these types; the SDK client reads them as the same types. One definition, so the
 * description, the server and the client cannot drift apart.
 */
import { z } from 'zod'
import { TensorRefSchema } from './job-spec.ts'
import { BaseUnitsSchema } from './settlement-views.ts'

/**
 * A non-negative amount of ledger credits as a decimal string: credits are exact integers
 * (`bigint`) that may pass 2^53, and JSON has no bigint. `BigInt(text)` reads one back.
 */
export const CreditsSchema = BaseUnitsSchema.meta({
  description: 'Ledger credits, a non-negative integer as a decimal string',
})

/** A job id, as `POST /v1/jobs` returns it. */
export const JobIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9_-]{1,64}$/,
    'expected a job id (1-64 of [A-Za-z0-9_-]) as returned by POST /v1/jobs',
  )
  .meta({ description: 'Job id, as returned by POST /v1/jobs' })

/** Where a job is in its life. */
export const JobStatusSchema = z.enum(['running', 'completed', 'failed', 'cancelled'])
/** Where a job is in its life: running, then completed, failed or cancelled. */
export type JobStatus = z.infer<typeof JobStatusSchema>

/**
 * Why a running job is not further along right now, from the first that applies:
 *
 * - `no-contributors`: no contributor is online;
 * - `no-capable-contributors`: contributors are online, but none can run this job's tasks
 *   (their adapter's limits, a memory cap below a task's, custom kernels opted out);
 * - `second-opinion`: results are in for `tasks` tasks, each waiting for an agreeing result
 *   from a different contributor (newcomers' work is checked by replication), and no
 *   contributor who may give one is free;
 * - `contributors-busy`: the contributors who could run it are all computing other jobs';
 * - `computing`: `tasks` tasks are leased and being computed: the job is moving;
 * - `confirmation`: every task has a result; `tasks` accepted on a contributor's
 *   credibility alone await the check that confirms them before they are published.
 */
export const WaitingReasonSchema = z.enum([
  'no-contributors',
  'no-capable-contributors',
  'second-opinion',
  'contributors-busy',
  'computing',
  'confirmation',
])
/** Why a running job is not further along (see {@link WaitingReasonSchema}). */
export type WaitingReason = z.infer<typeof WaitingReasonSchema>

/** What a running job is waiting for, as the relay sees it now. */
export const JobWaitingSchema = z.looseObject({
  reason: WaitingReasonSchema,
  tasks: z.number().int().meta({ description: 'How many of the job’s tasks the reason concerns' }),
  contributorsOnline: z.number().int(),
  message: z.string().meta({
    description:
      'For people, one line: e.g. "3 tasks await a second opinion from another contributor; 1 contributor online"',
  }),
})
/** What a running job is waiting for (see {@link WaitingReasonSchema}). */
export type JobWaiting = z.infer<typeof JobWaitingSchema>

/** What the HTTP API and the SDK see of a job. Loose: a newer relay may add fields. */
export const JobViewSchema = z.looseObject({
  id: JobIdSchema,
  kernel: z.enum(['matmul', 'custom', 'inference']),
  name: z.string().optional(),
  owner: z.string().meta({ description: 'Account name or wallet address that submitted and pays' }),
  status: JobStatusSchema,
  args: z
    .object({ m: z.number().int(), k: z.number().int(), n: z.number().int() })
    .optional()
    .meta({ description: 'Matmul only: C is m×n' }),
  priority: z.number().int(),
  deadline: z
    .number()
    .optional()
    .meta({ description: 'ms since the epoch after which unfinished work is abandoned' }),
  tasks: z
    .object({
      total: z.number().int(),
      accepted: z.number().int(),
      leased: z.number().int(),
      rejectedResults: z.number().int(),
      closed: z.number().int().optional().meta({
        description:
          'Inference: tasks of sequences that ended early (stop token, maxNewTokens, context), never run nor paid; the job completes when accepted + closed = total',
      }),
    })
    .meta({
      description:
        'accepted counts tasks accepted on one contributor’s credibility alone too; it goes down when such an acceptance is undone because its contributor was caught',
    }),
  credits: z.object({ budget: CreditsSchema, spent: CreditsSchema, refunded: CreditsSchema }).meta({
    description: 'Escrowed at submit, spent on accepted results, the rest refunded at the end',
  }),
  createdAt: z.number().meta({ description: 'ms since the epoch' }),
  finishedAt: z.number().optional(),
  error: z.string().optional(),
  waiting: JobWaitingSchema.optional().meta({
    description:
      'Running jobs only: what the job is waiting for now. A progress event is sent when it changes.',
  }),
})
/** What the HTTP API and the SDK see of a job. Plain data, safe to serialise. */
export type JobView = z.infer<typeof JobViewSchema>

/** A page of `GET /v1/jobs`, newest first. */
export const JobListSchema = z.object({
  jobs: z.array(JobViewSchema),
  nextCursor: z
    .string()
    .optional()
    .meta({ description: 'Present when there may be more jobs: pass it as cursor' }),
})
/** A page of jobs, newest first; `nextCursor` is present when there may be more. */
export type JobList = z.infer<typeof JobListSchema>

/** How an accepted result was verified. */
export const VerificationMethodSchema = z.enum([
  'freivalds',
  'replication',
  'spot-check',
  'canary',
  'trusted',
])
/** How an accepted result was verified. */
export type VerificationMethod = z.infer<typeof VerificationMethodSchema>

/**
 * One accepted task result, in publication order. Its outputs are in the blob store.
 *
 * A result accepted on one contributor's credibility alone (`trusted`) is published only
 * once it is confirmed: its contributor passed an independent check on the same job after
 * it, or the job's check before settlement. Until then it may be undone (its contributor
 * caught cheating, the task computed again by someone else), so a reader never sees a
 * result that is later withdrawn, and needs no retractions. A job that ends failed or
 * cancelled publishes the ones still unconfirmed as they are.
 */
export const TaskResultRecordSchema = z.object({
  seq: z.number().int().meta({
    description:
      'Position in publication order: increasing, not contiguous; the resume cursor (after)',
  }),
  taskId: z.string(),
  index: z.number().int().meta({
    description: 'The task’s index in the job (custom: in spec.tasks; matmul: row-major tile)',
  }),
  outputs: z.array(TensorRefSchema),
  method: VerificationMethodSchema,
  acceptedAt: z.number().meta({ description: 'ms since the epoch' }),
})
/** One accepted task result, in publication order (see {@link TaskResultRecordSchema}). */
export type TaskResultRecord = z.infer<typeof TaskResultRecordSchema>

/** A page of `GET /v1/jobs/:id/results`. */
export const ResultsPageSchema = z.object({
  results: z.array(TaskResultRecordSchema),
  cursor: z.number().int().meta({
    description: 'Pass as after to read on; equals after when nothing new was accepted',
  }),
  done: z.boolean().meta({ description: 'The job is over and every result has been read' }),
})
/** A page of published results; read on with `after: cursor` until `done`. */
export type ResultsPage = z.infer<typeof ResultsPageSchema>

/** What a job will cost before it is submitted (`POST /v1/jobs/quote`). */
export const JobQuoteSchema = z.looseObject({
  flops: z.number().meta({
    description: 'Floating-point operations of the useful work (custom kernels: an estimate)',
  }),
  tasks: z.number().int(),
  credits: CreditsSchema.meta({ description: 'Credits escrowed when no budget is given' }),
})
/** What a job will cost before it is submitted. */
export type JobQuote = z.infer<typeof JobQuoteSchema>

/** Credits of one account: a researcher account, a wallet address or a contributor peer id. */
export const AccountViewSchema = z.object({
  account: z.string(),
  balance: CreditsSchema.meta({ description: 'Spendable credits' }),
  escrowed: CreditsSchema.meta({ description: 'Held for running jobs' }),
  earned: CreditsSchema.meta({
    description: 'Paid for verified work and site shares, ever (after any site share taken out)',
  }),
  pending: CreditsSchema.meta({
    description: 'Earned on jobs still running, before any site share is taken out at payout',
  }),
})
/**
 * Credits of one account, as decimal strings; `pending` is forfeited if a contributor is
 * caught cheating first. `accountCredits` reads it as `bigint`s.
 */
export type AccountView = z.infer<typeof AccountViewSchema>

/** {@link AccountView} with its figures as exact integers: what the SDK returns. */
export interface AccountCredits {
  account: string
  balance: bigint
  escrowed: bigint
  earned: bigint
  pending: bigint
}

/** Reads the decimal strings of an {@link AccountView} as `bigint`s. */
export function accountCredits(view: AccountView): AccountCredits {
  return {
    account: view.account,
    balance: BigInt(view.balance),
    escrowed: BigInt(view.escrowed),
    earned: BigInt(view.earned),
    pending: BigInt(view.pending),
  }
}

/** Writes exact figures as the decimal strings of an {@link AccountView}. */
export function accountView(credits: AccountCredits): AccountView {
  return {
    account: credits.account,
    balance: credits.balance.toString(),
    escrowed: credits.escrowed.toString(),
    earned: credits.earned.toString(),
    pending: credits.pending.toString(),
  }
}

/** Every error answer of the API: `{ error: { code, message } }`. */
export const ApiErrorBodySchema = z.object({
  error: z.object({
    code: z.string().meta({ description: 'Stable, machine-matchable, e.g. INVALID_BODY' }),
    message: z.string().meta({ description: 'What is wrong, naming the field' }),
  }),
})
/** An error answer of the API; `code` is an `ApiErrorCode`, or `INTERNAL`/`HTTP_ERROR`. */
export type ApiErrorBody = z.infer<typeof ApiErrorBodySchema>
