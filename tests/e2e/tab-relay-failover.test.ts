import type { Browser } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.ts'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { randomMatrix } from '../support/random-matrix.ts'
import { openSwarmTab } from '../support/swarm-tabs.ts'

const peerOf = (relay: InProcessRelay) => relay.running.multiaddrs[0]!.split('/p2p/')[1]!

/**
 * Two relays of one cluster (each on its own SQLite: the job is submitted to the second),
 * the first listing the second in `GET /v1/swarm`. A tab that joined through the first
 * moves to the second when the first stops for good, and computes a job there.
 */
describe('a tab fails over to another relay of the cluster', () => {
  let first: InProcessRelay
  let second: InProcessRelay
  let firstStopped = false
  let browser: Browser

  beforeAll(async () => {
    second = await startInProcessRelay({ tileSize: 8 })
    first = await startInProcessRelay(
      { tileSize: 8 },
      {
        peers: async () => [
          {
            peerId: peerOf(second),
            multiaddrs: second.running.multiaddrs,
            url: second.running.url,
          },
        ],
      },
    )
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    if (!firstStopped) await first?.stop()
    await second?.stop()
  })

  it('reconnects to the other relay when its own stops, and computes a job there', async () => {
    const tab = await openSwarmTab(browser, first.running.url)
    const connectedTo = () =>
      tab.page.evaluate(() =>
        globalThis.tabswarm
          .connections()
          .filter((c) => c.direct)
          .map((c) => c.peerId),
      )
    expect(await connectedTo()).toContain(peerOf(first))

    firstStopped = true
    await first.stop()
    await tab.page.waitForFunction(
      () => {
        const { relay } = globalThis.tabswarm.stats()
        return relay.connected && relay.connects >= 2
      },
      undefined,
      { timeout: 90_000, polling: 200 },
    )
    expect(await connectedTo()).toContain(peerOf(second))
    // The panel said where it was going.
    await expect
      .poll(() => tab.page.locator('#log').textContent(), { timeout: 5_000 })
      .toMatch(/moving to relay/)

    const [m, k, n] = [16, 8, 16]
    const job = second.running.coordinator.submitMatmul({
      a: randomMatrix(m, k, 21),
      b: randomMatrix(k, n, 22),
      m,
      k,
      n,
    })
    await expect
      .poll(async () => (await second.running.coordinator.getJob(job.id)).status, {
        timeout: 90_000,
        interval: 500,
      })
      .toBe('completed')

    // Chromium itself logs each refused WebSocket dial to the stopped relay, and each
    // refused request to it: it served the page, so the page's own HTTP calls go there.
    const unexpected = tab.errors.filter(
      (e) =>
        !/WebSocket connection to .* failed: .*ERR_CONNECTION_REFUSED/.test(e) &&
        e !== 'console: Failed to load resource: net::ERR_CONNECTION_REFUSED',
    )
    expect(unexpected).toEqual([])
    await tab.page.close()
  })
})
