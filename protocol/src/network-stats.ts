/**
 * The relay's public figures (`GET /v1/stats`, no auth, readable from any origin), as
 * volunteer-computing projects publish theirs: who is online and what they can do, the
 * compute done, the jobs run, the credits settled. Nothing in it identifies anyone.
 */
import { z } from 'zod'
import { CreditsSchema, JobStatusSchema } from './api-views.ts'

/** One hour of compute: GFLOP of accepted work whose hour began at `hour`. */
export const ComputeHourSchema = z.object({
  hour: z.number().meta({ description: 'Start of the UTC hour, ms since the epoch' }),
  gflop: z.number().min(0),
  tasks: z.number().int().min(0),
})
/** One hour of compute. */
export type ComputeHour = z.infer<typeof ComputeHourSchema>

/** The relay's public figures. Loose: a newer relay may add fields. */
export const NetworkStatsSchema = z.looseObject({
  at: z.number().meta({ description: 'When these figures were read, ms since the epoch' }),
  contributors: z.object({
    online: z.number().int().min(0),
    /** Sum of the online contributors' measured matmul speeds. */
    gflopPerSecond: z.number().min(0),
  }),
  compute: z.object({
    /** GFLOP of verified, accepted work, ever (custom kernels: their estimate). */
    totalGflop: z.number().min(0),
    tasks: z.number().int().min(0),
    /** The last `STATS_HOURS` hours, oldest first; hours with no work are present, with 0. */
    hourly: z.array(ComputeHourSchema),
  }),
  jobs: z.object({
    total: z.number().int().min(0),
    byStatus: z.record(JobStatusSchema, z.number().int().min(0)),
  }),
  credits: z.object({
    /** Paid to contributors for verified work, ever. */
    paid: CreditsSchema,
    /** Put in posted settlement roots (claimable on chain); "0" where the relay does not settle. */
    settled: CreditsSchema,
  }),
})
/** The relay's public figures. */
export type NetworkStats = z.infer<typeof NetworkStatsSchema>

/** Hours of compute history `GET /v1/stats` answers with. */
export const STATS_HOURS = 24
