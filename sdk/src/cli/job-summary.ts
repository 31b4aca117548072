import type { JobView } from '@tabswarm/protocol'
import type { JobAbortedError } from '../client/client-errors.ts'
import { plural } from './plural.ts'

/** One line per job for people: id, status, kernel, progress, age. */
export function describeJob(job: JobView, now = Date.now()): string {
  const { accepted, total } = job.tasks
  const age = Math.max(0, Math.round(((job.finishedAt ?? now) - job.createdAt) / 1000))
  const error = job.error ? `  ${job.error}` : ''
  return `${job.id}  ${job.status.padEnd(9)}  ${job.kernel.padEnd(6)}  ${accepted}/${plural(total, 'task')}  ${age}s${error}`
}

/** What a job costs, for the line a researcher reads before and after it runs. */
export function describeCredits(job: JobView): string {
  const { budget, spent, refunded } = job.credits
  if (job.status === 'running') return `${plural(budget, 'credit')} escrowed`
  // Decimal strings, printed as they are: exact however large.
  return `spent ${spent} of ${plural(budget, 'credit')}${BigInt(refunded) > 0n ? `, ${refunded} refunded` : ''}`
}

/**
 * What became of a job its command gave up on (Ctrl-C, --timeout): `cancelled job <id>:
 * 9888 of 10300 credits refunded (412 spent)`, or that it ended first.
 */
export function describeAbortedJob(err: JobAbortedError): string {
  const job = err.job
  if (job == null)
    return `job ${err.jobId} may still be running: the relay could not be asked to cancel it; run 'tabswarm cancel ${err.jobId}'`
  const { budget, spent, refunded } = job.credits
  if (job.status === 'cancelled')
    return `cancelled job ${job.id}: ${refunded} of ${plural(budget, 'credit')} refunded (${spent} spent)`
  return `job ${job.id} had already ${job.status}; nothing to cancel (${describeCredits(job)})`
}
