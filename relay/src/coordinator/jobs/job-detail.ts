import type { JobDetail, JobSample, JobView, TaskStates } from '@tabswarm/protocol'
import type { ResultSummary, StoredJob } from '../../store/coordinator-store.ts'
import { jobSample } from './job-history.ts'

/** How far back a running job's throughput looks. */
export const THROUGHPUT_WINDOW_MS = 60_000

export interface JobDetailParts {
  /** What readers may see of the job (its committed state). */
  view: JobView
  row: StoredJob
  /** Its tasks by state: walked for a running job, from the row for an ended one. */
  states: TaskStates
  /** Its results rows in figures, `since` the start of the throughput window. */
  summary: ResultSummary
  /** Useful floating-point operations of the whole job, as its quote counts them. */
  flops: number
  /** Its samples held in memory, if any. */
  history: JobSample[] | undefined
  now: number
}

/** A job as it was submitted: every task queued, nothing rejected. */
function submitted(row: StoredJob): JobSample {
  return {
    at: row.createdAt,
    queued: row.totalTasks,
    leased: 0,
    awaitingSecondOpinion: 0,
    awaitingConfirmation: 0,
    accepted: 0,
    rejected: 0,
  }
}

/**
 * A job in detail from its parts. Outcomes come from the store (results rows by method,
 * the row's canaries and rejections), so they survive a restart; a history no longer in
 * memory is told by its two ends, the submit and the end (or now).
 */
export function jobDetail(parts: JobDetailParts): JobDetail {
  const { view, row, states, summary, flops, now } = parts
  const methods = summary.methods
  const end = row.finishedAt ?? now
  const startedAt = row.firstLeaseAt ?? row.createdAt
  let tasksPerSecond = 0
  if (row.finishedAt != null) {
    const seconds = (row.finishedAt - startedAt) / 1000
    if (seconds > 0) tasksPerSecond = row.acceptedTasks / seconds
  } else {
    // Over the last minute, or over the run so far when it is younger (a second at least,
    // so a first result does not read as a burst).
    const seconds = Math.max(1, Math.min(THROUGHPUT_WINDOW_MS, now - startedAt) / 1000)
    tasksPerSecond = summary.acceptedSince / seconds
  }
  const flopsPerTask = row.totalTasks > 0 ? flops / row.totalTasks : 0
  return {
    job: view,
    tasks: states,
    verification: {
      freivalds: methods.freivalds ?? 0,
      recomputed: methods['spot-check'] ?? 0,
      agreed: methods.replication ?? 0,
      canary: (row.canariesAccepted ?? 0) + (methods.canary ?? 0),
      trusted: methods.trusted ?? 0,
      rejected: row.rejectedResults,
    },
    flops,
    timings: {
      createdAt: row.createdAt,
      ...(row.firstLeaseAt != null ? { firstLeaseAt: row.firstLeaseAt } : {}),
      ...(summary.firstAcceptedAt != null ? { firstAcceptedAt: summary.firstAcceptedAt } : {}),
      ...(summary.lastAcceptedAt != null ? { lastAcceptedAt: summary.lastAcceptedAt } : {}),
      ...(row.finishedAt != null ? { finishedAt: row.finishedAt } : {}),
      elapsedMs: Math.max(0, end - row.createdAt),
    },
    throughput: { tasksPerSecond, gflopPerSecond: (tasksPerSecond * flopsPerTask) / 1e9 },
    history:
      parts.history != null && parts.history.length > 0
        ? parts.history
        : [submitted(row), jobSample(Math.max(end, row.createdAt), states, row)],
  }
}
