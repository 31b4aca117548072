import * as format from './format.ts'
import type { RelayApi } from './relay-api.ts'
import { REQUEST_TIMEOUT_MS, STATS_REFRESH_MS } from './timeouts.ts'

/**
 * Contributors online and their speed together, from the relay's public figures
 * (`GET /v1/stats`), read again every few seconds. Counts only: no contributor is named.
 */
export function showNetwork(api: RelayApi, signal: AbortSignal): void {
  const count = document.getElementById('contributors')!
  const speed = document.getElementById('contributors-speed')!
  const read = async () => {
    try {
      const stats = await api.stats(
        AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      )
      if (stats == null) {
        // An older relay: its health answer counts contributors, without their speed.
        const online = await api.contributorsOnline(signal)
        count.textContent = online == null ? 'not reported by this relay' : format.count(online)
        if (online != null) count.dataset.value = String(online)
        speed.textContent = 'not reported by this relay'
        return
      }
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
