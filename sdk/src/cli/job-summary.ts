import type { JobView } from '@tabswarm/relay'

/** One line per job for people: id, status, kernel, progress, age. */
export function describeJob(job: JobView, now = Date.now()): string {
  const { accepted, total } = job.tasks
  const age = Math.max(0, Math.round(((job.finishedAt ?? now) - job.createdAt) / 1000))
  const error = job.error ? `  ${job.error}` : ''
  return `${job.id}  ${job.status.padEnd(9)}  ${job.kernel.padEnd(6)}  ${accepted}/${total} tasks  ${age}s${error}`
}
