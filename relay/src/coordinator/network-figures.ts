import type { ComputeHour, JobStatus } from '@tabswarm/protocol'
import { EARNING_KINDS } from '../ledger/ledger.ts'
import type { CoordinatorStore } from '../store/coordinator-store.ts'
import type { Clock } from './clock.ts'
import type { Contributor } from './contributors/contributor-registry.ts'
import { HOUR_MS, hourOf } from './jobs/compute-tally.ts'

/** The public figures the coordinator knows; `GET /v1/stats` adds what settled on chain. */
export interface NetworkFigures {
  contributors: { online: number; gflopPerSecond: number }
  compute: { totalGflop: number; tasks: number; hourly: ComputeHour[] }
  jobs: { total: number; byStatus: Record<JobStatus, number> }
  /** Credits paid out for verified work, ever: contributors' payouts and sites' shares. */
  creditsPaid: bigint
}

/** Most hours of history one read returns: a month. */
export const MAX_FIGURE_HOURS = 24 * 31

/**
 * Reads the figures from running totals and the contributors online: a handful of indexed
 * reads whatever the size of the store (compute per hour and credits per kind are kept as
 * they change; see `migrations/network-figures.ts`), and one pass over those online.
 *
 * @param hours The last `hours` UTC hours (the current one included), oldest first, hours
 *   without work present with zeros.
 */
export function readNetworkFigures(
  deps: {
    store: CoordinatorStore
    clock: Clock
    contributors: () => Iterable<Pick<Contributor, 'measuredGflops'>>
  },
  hours: number,
): NetworkFigures {
  const { store, clock } = deps
  const span = Math.min(Math.max(1, Math.floor(hours)), MAX_FIGURE_HOURS)
  const last = hourOf(clock.now())
  const first = last - (span - 1) * HOUR_MS
  const stored = new Map(store.computeHours(first, last).map((row) => [row.hour, row]))
  const hourly: ComputeHour[] = []
  for (let hour = first; hour <= last; hour += HOUR_MS) {
    const row = stored.get(hour)
    // Undone acceptances subtract: rounding must not publish -1e-12 GFLOP.
    hourly.push({ hour, gflop: Math.max(0, row?.gflop ?? 0), tasks: Math.max(0, row?.tasks ?? 0) })
  }
  let online = 0
  let gflopPerSecond = 0
  for (const c of deps.contributors()) {
    online++
    // Measured speeds only: the default assumed for the silent ones is no measurement.
    gflopPerSecond += c.measuredGflops ?? 0
  }
  const byStatus = store.countJobsByStatus()
  const total = store.computeTotal()
  return {
    contributors: { online, gflopPerSecond },
    compute: {
      totalGflop: Math.max(0, total.gflop),
      tasks: Math.max(0, total.tasks),
      hourly,
    },
    jobs: { total: Object.values(byStatus).reduce((a, b) => a + b, 0), byStatus },
    creditsPaid: store.transferredTotal(EARNING_KINDS),
  }
}
