import type { TabswarmClient } from '@tabswarm/sdk'
import * as format from './format.ts'
import { REQUEST_TIMEOUT_MS, STATS_REFRESH_MS } from './timeouts.ts'

/**
 * Contributors online and their speed together, from the relay's public figures
 * (`client.stats()`, `GET /v1/stats`), read again every few seconds. Counts only: no
 * contributor is named. The page is served by the relay, so the relay has the route.
 */
export function showNetwork(client: TabswarmClient, signal: AbortSignal): void {
  const count = document.getElementById('contributors')!
  const speed = document.getElementById('contributors-speed')!
  const read = async () => {
    try {
      const stats = await client.stats({
        signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      })
      count.textContent = format.count(stats.contributors.online)
      count.dataset.value = String(stats.contributors.online)
      speed.textContent = format.gflopPerSecond(stats.contributors.gflopPerSecond)
    } catch (err) {
      if (!signal.aborted) count.textContent = `unknown (${(err as Error).message})`
    }
  }
  void read()
  const timer = setInterval(read, STATS_REFRESH_MS)
  signal.addEventListener('abort', () => clearInterval(timer), { once: true })
}
