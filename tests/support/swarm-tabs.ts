import type { Browser, BrowserContext, Page } from 'playwright'

/** A contributor tab under test, with what it printed. */
export interface SwarmTab {
  page: Page
  peerId: string
  errors: string[]
  warnings: string[]
}

/**
 * Opens the contributor page with `?autostart` (and the test hooks, `?tabswarm-test`) and
 * waits until the tab has joined the swarm and reached the relay. Reads state only through
 * `window.tabswarm`.
 */
export async function openSwarmTab(
  target: Browser | BrowserContext,
  url: string,
  options: { timeoutMs?: number } = {},
): Promise<SwarmTab> {
  const page = await target.newPage()
  const errors: string[] = []
  const warnings: string[] = []
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`)
    if (msg.type() === 'warning') warnings.push(msg.text())
  })
  await page.goto(`${url}/?autostart&tabswarm-test`)
  await page.waitForFunction(
    () => globalThis.tabswarm?.joined && globalThis.tabswarm.stats().relay.connected,
    undefined,
    { timeout: options.timeoutMs ?? 60_000, polling: 100 },
  )
  const peerId = await page.evaluate(() => globalThis.tabswarm.peerId())
  return { page, peerId, errors, warnings }
}

/** Fills `size` random bytes in the page and puts them in the tab's blob cache. */
export function putRandomBlob(page: Page, size: number) {
  return page.evaluate(async (n) => {
    const bytes = new Uint8Array(n)
    for (let offset = 0; offset < n; offset += 65_536) {
      crypto.getRandomValues(bytes.subarray(offset, Math.min(n, offset + 65_536)))
    }
    return globalThis.tabswarm.putBlob!(bytes)
  }, size)
}
