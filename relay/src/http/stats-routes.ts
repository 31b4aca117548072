import { type NetworkStats, NetworkStatsSchema, STATS_HOURS } from '@tabswarm/protocol'
import type { CoordinatorApi } from '../coordinator/coordinator-api.ts'
import { publicRead } from './cross-origin.ts'
import type { RegisterRoute } from './route-docs.ts'

export interface StatsRouteOptions {
  route: RegisterRoute
  jobs: Pick<CoordinatorApi, 'networkFigures'>
  /** Credits put in posted settlement roots; absent where the relay does not settle ("0"). */
  settledCredits?: () => bigint
  /** How long one reading is served again. @default 1_000 ms */
  cacheMs?: number
  /** @default Date.now */
  now?: () => number
}

/**
 * `GET /v1/stats`: the relay's public figures (`NetworkStats`), as volunteer-computing
 * projects publish theirs. No credentials and readable from any page (the /stats page of
 * another site may show them); per-address rate limited with the rest of `/v1`. One reading
 * is served to everyone for `cacheMs`, so a crowd of pollers costs one read a second, not one
 * per request, and the coordinator's hot path never waits on them.
 */
export function registerStatsRoutes(options: StatsRouteOptions): void {
  const cacheMs = options.cacheMs ?? 1_000
  const now = options.now ?? Date.now
  let cached: { at: number; stats: NetworkStats } | undefined

  function read(): NetworkStats {
    const at = now()
    if (cached != null && at - cached.at < cacheMs && at >= cached.at) return cached.stats
    const figures = options.jobs.networkFigures(STATS_HOURS)
    const stats: NetworkStats = {
      at,
      contributors: figures.contributors,
      compute: figures.compute,
      jobs: figures.jobs,
      credits: {
        paid: figures.creditsPaid.toString(),
        settled: (options.settledCredits?.() ?? 0n).toString(),
      },
    }
    cached = { at, stats }
    return stats
  }

  options.route(
    {
      method: 'get',
      path: '/v1/stats',
      summary:
        'Public figures: contributors online, compute done, jobs run, credits paid and settled',
      description:
        `No credentials; readable from any origin (Access-Control-Allow-Origin: *). compute.hourly holds the last ${STATS_HOURS} ` +
        'UTC hours, oldest first, hours without work included with zeros. Figures are read at most once a second ' +
        '(at says when); nothing in them identifies a contributor or a researcher.',
      auth: false,
      responses: {
        200: {
          description: 'The figures',
          contentType: 'application/json',
          schema: NetworkStatsSchema,
        },
        429: { description: 'Too many requests from this address' },
      },
    },
    publicRead(),
    (c) => {
      c.header('cache-control', `public, max-age=${Math.max(1, Math.round(cacheMs / 1000))}`)
      return c.json(read())
    },
  )
}
