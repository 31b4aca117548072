import type { JobStatus } from '@tabswarm/protocol'
import { HOUR_MS, hourOf } from '../coordinator/jobs/compute-tally.ts'
import {
  MAX_FIGURE_HOURS,
  type NetworkFigures,
  readNetworkFigures,
} from '../coordinator/network-figures.ts'
import { EARNING_KINDS } from '../ledger/ledger.ts'
import { type Logger, silentLogger } from '../log.ts'
import type { ComputeHourRow, CoordinatorStore } from '../store/coordinator-store.ts'
import type { PostgresStore } from '../store/postgres/postgres-store.ts'

export interface SharedNetworkFiguresOptions {
  shared: Pick<
    PostgresStore,
    'computeHours' | 'computeTotal' | 'countJobsByStatus' | 'transferredTotal'
  >
  /** Contributors online across the cluster's live relays (`clusterLoad`). */
  load(signal: AbortSignal): Promise<{ contributors: number; gflops: number }>
  /** What this relay alone knows: the answer until the first read of the database. */
  local(hours: number): NetworkFigures
  /** Figures are read again when asked for and older than this. @default 1_000 */
  maxAgeMs?: number
  now?: () => number
  log?: Logger
}

/**
 * The public figures of a cluster (`GET /v1/stats`): work, jobs and credits from the
 * shared database, contributors summed over the live relays. Asked for synchronously (the
 * route serves them at most once a second anyway), they come from the last read, and a
 * read older than `maxAgeMs` starts the next one in the background.
 */
export function createSharedNetworkFigures(
  options: SharedNetworkFiguresOptions,
): (hours: number) => NetworkFigures {
  const maxAgeMs = options.maxAgeMs ?? 1_000
  const now = options.now ?? Date.now
  const log = options.log ?? silentLogger
  let last:
    | {
        at: number
        hours: ComputeHourRow[]
        total: { gflop: number; tasks: number }
        byStatus: Record<JobStatus, number>
        paid: bigint
        load: { contributors: number; gflops: number }
      }
    | undefined
  let reading = false

  async function read(): Promise<void> {
    const at = now()
    const signal = AbortSignal.timeout(5_000)
    const newest = hourOf(at)
    const [hours, total, byStatus, paid, load] = await Promise.all([
      options.shared.computeHours(newest - (MAX_FIGURE_HOURS - 1) * HOUR_MS, newest, { signal }),
      options.shared.computeTotal({ signal }),
      options.shared.countJobsByStatus({ signal }),
      options.shared.transferredTotal(EARNING_KINDS, { signal }),
      options.load(signal),
    ])
    last = { at, hours, total, byStatus, paid, load }
  }

  return (hours) => {
    if (!reading && (last == null || now() - last.at > maxAgeMs)) {
      reading = true
      read()
        .catch((err: Error) =>
          log.warn('reading the cluster’s figures failed; serving the last ones', {
            error: err.message,
          }),
        )
        .finally(() => {
          reading = false
        })
    }
    if (last == null) return options.local(hours)
    const { hours: rows, total, byStatus, paid, load } = last
    // The database's answers, in the shape the embedded figures are read from.
    const store = {
      computeHours: (from: number, to: number) =>
        rows.filter((r) => r.hour >= from && r.hour <= to),
      computeTotal: () => total,
      countJobsByStatus: () => byStatus,
      transferredTotal: () => paid,
    } as unknown as CoordinatorStore
    const figures = readNetworkFigures({ store, clock: { now }, contributors: () => [] }, hours)
    return { ...figures, contributors: { online: load.contributors, gflopPerSecond: load.gflops } }
  }
}
