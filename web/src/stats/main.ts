/**
 * The relay's public figures (`/stats`), as volunteer-computing projects publish theirs:
 * from `GET /v1/stats`, which needs no sign-in, read again every half minute.
 */
import { NetworkStatsSchema } from '@tabswarm/protocol'
import * as format from '../dashboard/format.ts'
import { HourlyChart } from './hourly-chart.ts'

const REFRESH_MS = 30_000
const REQUEST_TIMEOUT_MS = 30_000
const set = (id: string, text: string) => {
  document.getElementById(id)!.textContent = text
}
const chart = new HourlyChart(document.getElementById('hourly')!)
const error = document.getElementById('stats-error')!

async function read(): Promise<void> {
  try {
    const response = await fetch(`${location.origin}/v1/stats`, {
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
    if (response.status === 404)
      throw new Error(
        'this relay does not publish its figures (GET /v1/stats is missing): it may be an older version',
      )
    if (!response.ok) throw new Error(`GET /v1/stats answered HTTP ${response.status}`)
    const stats = NetworkStatsSchema.parse(await response.json())
    set('online', format.count(stats.contributors.online))
    set('speed', format.gflopPerSecond(stats.contributors.gflopPerSecond))
    set('total-gflop', format.gflop(stats.compute.totalGflop * 1e9))
    set('tasks', format.count(stats.compute.tasks))
    set('day-gflop', format.gflop(stats.compute.hourly.reduce((sum, h) => sum + h.gflop, 0) * 1e9))
    set('jobs', format.count(stats.jobs.total))
    set('jobs-completed', format.count(stats.jobs.byStatus.completed ?? 0))
    set('jobs-running', format.count(stats.jobs.byStatus.running ?? 0))
    set('credits-paid', format.credits(stats.credits.paid))
    set('credits-settled', format.credits(stats.credits.settled))
    set('updated', new Date(stats.at).toLocaleString('en'))
    chart.update(stats.compute.hourly)
    error.hidden = true
    document.body.dataset.state = 'ready'
  } catch (err) {
    error.textContent = `Could not read the figures: ${(err as Error).message}`
    error.hidden = false
    document.body.dataset.state = 'error'
  }
}

void read()
setInterval(read, REFRESH_MS)
