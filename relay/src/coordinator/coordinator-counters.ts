import type { VerificationMethod } from '@tabswarm/protocol'
import type { CoordinatorStats, ResultOutcomeKind } from './coordinator-api.ts'

/** The coordinator's monotonic figures for `/metrics`, in memory since the process started. */
export interface CoordinatorCounters {
  tasksDispatched: number
  creditsPaid: bigint
  creditsRefunded: bigint
  canariesIssued: number
  spotChecks: number
  /** Floating-point operations spent recomputing results. */
  spotCheckedFlops: number
  /** One more result, by outcome and by how it was verified. */
  count(outcome: ResultOutcomeKind, method: VerificationMethod | 'none'): void
  /** The counters as `CoordinatorStats` has them, with the bans counted elsewhere. */
  snapshot(bans: number): CoordinatorStats['counters']
}

export function createCoordinatorCounters(): CoordinatorCounters {
  const results = new Map<string, number>()
  const counters: CoordinatorCounters = {
    tasksDispatched: 0,
    creditsPaid: 0n,
    creditsRefunded: 0n,
    canariesIssued: 0,
    spotChecks: 0,
    spotCheckedFlops: 0,
    count(outcome, method) {
      const key = `${outcome}|${method}`
      results.set(key, (results.get(key) ?? 0) + 1)
    },
    snapshot: (bans) => ({
      tasksDispatched: counters.tasksDispatched,
      results: [...results].map(([key, count]) => {
        const [outcome, method] = key.split('|') as [ResultOutcomeKind, VerificationMethod | 'none']
        return { outcome, method, count }
      }),
      creditsPaid: counters.creditsPaid,
      creditsRefunded: counters.creditsRefunded,
      canariesIssued: counters.canariesIssued,
      spotChecks: counters.spotChecks,
      spotCheckedFlops: counters.spotCheckedFlops,
      bans,
    }),
  }
  return counters
}
