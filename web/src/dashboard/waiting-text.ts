import type { JobView } from '@tabswarm/protocol'

/**
 * What a running job waits for, in words: the relay's own line (`JobView.waiting.message`)
 * where it sends one, else what the job's counts alone tell.
 */
export function waitingText(job: JobView): string {
  if (job.waiting?.message) return `Waiting for: ${job.waiting.message}`
  const { total, accepted, leased } = job.tasks
  if (leased > 0) return `Computing: ${leased} of ${total} tasks are with contributors.`
  if (accepted < total)
    return `Waiting for a contributor to take the next of ${total - accepted} tasks.`
  return 'Every task has a result; waiting for the last checks.'
}
