/**
 * A job in detail (`GET /v1/jobs/:id/detail`): what `tabswarm job <id>` and the dashboard
 * show of one job beyond its {@link JobView}: its tasks by state, how their results were
 * verified, its timings, and its recent history for charts.
 */
import { z } from 'zod'
import { JobViewSchema } from './api-views.ts'

const count = () => z.number().int().min(0)

/** A job's tasks by where they are; the states partition `total`. */
export const TaskStatesSchema = z.object({
  total: count(),
  /** Waiting in the queue for a contributor. */
  queued: count(),
  /** Leased to a contributor and being computed. */
  leased: count(),
  /** Results are in; waiting for an agreeing result from a different contributor. */
  awaitingSecondOpinion: count(),
  /** Accepted on a contributor's credibility alone, not yet confirmed (and not yet published). */
  awaitingConfirmation: count(),
  /** Accepted and published. */
  accepted: count(),
  /**
   * Inference pipelines: tasks that wait for the step before them to be accepted (the next
   * stage, the next token) before they can be queued. Absent for other jobs.
   */
  blocked: count().optional(),
  /**
   * Inference: tasks of sequences that ended early (a stop token, the context), closed
   * without running and unpaid. Absent when none.
   */
  closed: count().optional(),
})
/** A job's tasks by state; the states partition `total`. */
export type TaskStates = z.infer<typeof TaskStatesSchema>

/** How a job's results were decided, counted per result received. */
export const VerificationOutcomesSchema = z.object({
  /** Matmul tiles accepted by Freivalds' check. */
  freivalds: count(),
  /** Accepted because the coordinator recomputed the result and it matched (spot checks). */
  recomputed: count(),
  /** Accepted because independent contributors agreed (replication). */
  agreed: count(),
  /** Accepted on a canary's known answer. */
  canary: count(),
  /** Accepted on a trusted contributor's credibility, confirmed or not yet. */
  trusted: count(),
  /** Results refused: wrong, malformed, or outvoted. */
  rejected: count(),
})
/** How a job's results were decided. */
export type VerificationOutcomes = z.infer<typeof VerificationOutcomesSchema>

/** One sample of a job's history: its task states at `at`. */
export const JobSampleSchema = z.object({
  at: z.number().meta({ description: 'ms since the epoch' }),
  queued: count(),
  leased: count(),
  awaitingSecondOpinion: count(),
  awaitingConfirmation: count(),
  accepted: count(),
  rejected: count().meta({ description: 'Results rejected so far (cumulative)' }),
})
/** One sample of a job's history. */
export type JobSample = z.infer<typeof JobSampleSchema>

/** A job in detail. Loose: a newer relay may add fields. */
export const JobDetailSchema = z.looseObject({
  job: JobViewSchema,
  tasks: TaskStatesSchema,
  verification: VerificationOutcomesSchema,
  /** Useful floating-point operations of the whole job (custom kernels: an estimate). */
  flops: z.number().min(0),
  timings: z.object({
    createdAt: z.number(),
    firstLeaseAt: z.number().optional(),
    firstAcceptedAt: z.number().optional(),
    lastAcceptedAt: z.number().optional(),
    finishedAt: z.number().optional(),
    /** From creation to the end, or to now for a running job. */
    elapsedMs: z.number().min(0),
  }),
  /** Tasks accepted per second over the last minute (the whole run once it ended). */
  throughput: z.object({
    tasksPerSecond: z.number().min(0),
    gflopPerSecond: z.number().min(0),
  }),
  history: z.array(JobSampleSchema).meta({
    description:
      'Task states over time, oldest first, at most MAX_JOB_HISTORY_SAMPLES samples (evenly thinned); kept in memory, so a relay restart begins it again',
  }),
})
/** A job in detail. */
export type JobDetail = z.infer<typeof JobDetailSchema>

/** Most samples a job's `history` holds. */
export const MAX_JOB_HISTORY_SAMPLES = 240
