import type { ContributorEvent } from '@tabswarm/sdk/contributor'

type TaskStarted = Extract<ContributorEvent, { type: 'task-started' }>

/** What the page says about the job a task belongs to, in words a visitor reads. */
export interface RunningJob {
  /** The job's name, or its id shortened ("job 3f9a1c2e"). */
  name: string
  /** The kernel in words: "matrix multiply", "a researcher's kernel". */
  kernel: string
  /** "12 of 40 tasks done", or undefined when the relay did not say. */
  progress?: string
  /** 0 to 1 for a progress bar, or undefined. */
  fraction?: number
}

/** Job ids are UUIDs or hashes: the first 8 characters tell jobs apart on one page. */
const SHORT_ID_LENGTH = 8

/**
 * The job of a starting task, from its `task-started` event: the relay's `job` facts when it
 * sends them (name, kernel, progress), else the job id alone.
 */
export function describeRunningJob(event: TaskStarted): RunningJob {
  const { job } = event
  const name = job?.name?.trim() || `job ${event.jobId.slice(0, SHORT_ID_LENGTH)}`
  if (job == null) return { name, kernel: 'not reported by the relay' }
  const kernel = job.kernel === 'matmul' ? 'matrix multiply' : 'a researcher’s kernel'
  if (!(job.tasksTotal > 0)) return { name, kernel }
  const done = Math.min(job.tasksAccepted, job.tasksTotal)
  return {
    name,
    kernel,
    progress: `${done} of ${job.tasksTotal} tasks done`,
    fraction: done / job.tasksTotal,
  }
}
