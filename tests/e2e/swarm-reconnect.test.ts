import { createHash } from 'node:crypto'
import type { Browser } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.ts'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { openSwarmTab } from '../support/swarm-tabs.ts'

describe('a tab across relay restarts and visits', () => {
  let relay: InProcessRelay
  let browser: Browser

  beforeAll(async () => {
    relay = await startInProcessRelay()
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await relay?.stop()
  })

  it('reconnects to the relay after it restarts, and is reachable again', async () => {
    const tab = await openSwarmTab(browser, relay.running.url)
    const relayPeer = relay.running.multiaddrs[0]!.split('/p2p/')[1]
    await relay.restart()
    // Same data dir, same key: the relay comes back under the same peer id and address.
    expect(relay.running.multiaddrs[0]!.split('/p2p/')[1]).toBe(relayPeer)

    await tab.page.waitForFunction(
      () => {
        const { relay } = globalThis.tabswarm.stats()
        return relay.connected && relay.connects >= 2
      },
      undefined,
      { timeout: 60_000, polling: 200 },
    )
    const connections = await tab.page.evaluate(() => globalThis.tabswarm.connections())
    expect(connections.filter((c) => c.peerId === relayPeer && c.direct)).toHaveLength(1)

    // The blob protocol works over the new connection...
    const bytes = new Uint8Array(2 * 1024 * 1024).map((_, i) => (i * 13) & 255)
    const hash = createHash('sha256').update(bytes).digest('hex')
    const put = await fetch(`${relay.running.url}/v1/blobs`, {
      method: 'PUT',
      body: bytes as Uint8Array<ArrayBuffer>,
    })
    expect(put.status).toBe(201)
    const got = await tab.page.evaluate((h) => globalThis.tabswarm.fetchBlob(h), hash)
    expect(got).toMatchObject({ source: 'relay', size: bytes.byteLength })

    // ...and the tab holds a reservation again: a newcomer reaches it over WebRTC.
    const newcomer = await openSwarmTab(browser, relay.running.url)
    await newcomer.page.waitForFunction(
      (peer) =>
        globalThis.tabswarm
          .connections()
          .some((c) => c.peerId === peer && c.direct && c.transport === 'webrtc'),
      tab.peerId,
      { timeout: 60_000, polling: 200 },
    )
    // Chromium itself logs each refused WebSocket dial while the relay is down.
    const unexpected = [...tab.errors, ...newcomer.errors].filter(
      (e) => !/WebSocket connection to .* failed: .*ERR_CONNECTION_REFUSED/.test(e),
    )
    expect(unexpected).toEqual([])
    await tab.page.close()
    await newcomer.page.close()
  })

  it('keeps its peer id for a returning visitor, and gives a second tab its own', async () => {
    const context = await browser.newContext()
    try {
      const first = await openSwarmTab(context, relay.running.url)
      const second = await openSwarmTab(context, relay.running.url)
      expect(second.peerId).not.toBe(first.peerId)
      await first.page.close()
      await second.page.close()

      const returning = await openSwarmTab(context, relay.running.url)
      expect(returning.peerId).toBe(first.peerId)
    } finally {
      await context.close()
    }
  })
})
