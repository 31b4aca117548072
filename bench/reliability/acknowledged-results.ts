import type { SimContributor } from './sim-contributor.ts'

/** Task ids of `jobId` that simulated contributors were told were accepted (committed). */
export function acknowledgedAccepted(sims: SimContributor[], jobId: string): Set<string> {
  const acked = new Set<string>()
  for (const sim of sims) {
    const ofJob = new Set<string>()
    for (const e of sim.events) {
      if (e.type === 'task-started' && e.jobId === jobId) ofJob.add(e.taskId)
      if (e.type === 'task-finished' && e.outcome === 'accepted' && ofJob.has(e.taskId))
        acked.add(e.taskId)
    }
  }
  return acked
}
