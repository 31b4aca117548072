import type { JobView } from '@tabswarm/protocol'

/** One line per job for people: id, status, kernel, progress, age. */
export function describeJob(job: JobView, now = Date.now()): string {
  const { accepted, total } = job.tasks
  const age = Math.max(0, Math.round(((job.finishedAt ?? now) - job.createdAt) / 1000))
  const error = job.error ? `  ${job.error}` : ''
  return `${job.id}  ${job.status.padEnd(9)}  ${job.kernel.padEnd(6)}  ${accepted}/${total} tasks  ${age}s${error}`
}

/** What a job costs, for the line a researcher reads before and after it runs. */
export function describeCredits(job: JobView): string {
  const { budget, spent, refunded } = job.credits
  if (job.status === 'running') return `${budget} credits escrowed`
  // Decimal strings, printed as they are: exact however large.
  return `spent ${spent} of ${budget} credits${BigInt(refunded) > 0n ? `, ${refunded} refunded` : ''}`
}
