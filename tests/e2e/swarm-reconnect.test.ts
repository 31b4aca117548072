import { createHash } from 'node:crypto'
import type { Browser } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM_ARGS, launchChromium } from '../support/chromium.ts'
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

  it('explains, disables Start and joins nothing when the browser has no WebGPU, even with ?autostart', async () => {
    // A Chromium without the WebGPU flags gives no adapter: the page asks for one before
    // anything else runs, and says so instead of starting.
    const noGpu = await launchChromium({
      args: CHROMIUM_ARGS.filter((a) => !/webgpu|swiftshader|Vulkan/i.test(a)),
    })
    try {
      const page = await noGpu.newPage()
      const errors: string[] = []
      page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`))
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(`console: ${msg.text()}`)
      })
      await page.goto(`${relay.running.url}/?autostart`)
      await page.waitForFunction(() => document.body.dataset.state === 'unsupported', undefined, {
        timeout: 30_000,
      })
      expect(await page.locator('#unsupported').isVisible()).toBe(true)
      expect(await page.locator('#unsupported-text').textContent()).toMatch(/Chrome or Edge/)
      expect(await page.locator('#toggle').isDisabled()).toBe(true)
      // Nothing runs: no node in the swarm, no identity slot taken, the relay never hears it.
      await new Promise((resolve) => setTimeout(resolve, 2_000))
      expect(
        await page.evaluate(async () => {
          const { held = [] } = await navigator.locks.query()
          return {
            joined: globalThis.tabswarm.joined,
            slots: held.filter((l) => l.name?.startsWith('tabswarm-identity')).length,
          }
        }),
      ).toEqual({ joined: false, slots: 0 })
      expect(await page.evaluate(() => document.body.dataset.state)).toBe('unsupported')
      expect(errors).toEqual([])
    } finally {
      await noGpu.close()
    }
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

      // A key that no longer parses is replaced, and the replacement is what comes back.
      await returning.page.evaluate(
        () =>
          new Promise<void>((resolve, reject) => {
            const open = indexedDB.open('tabswarm-identity', 1)
            open.onerror = () => reject(open.error)
            open.onsuccess = () => {
              const tx = open.result.transaction('libp2p-keys', 'readwrite')
              tx.objectStore('libp2p-keys').put(Uint8Array.from([1, 2, 3]), 'slot-0')
              tx.oncomplete = () => resolve()
              tx.onerror = () => reject(tx.error)
            }
          }),
      )
      await returning.page.close()
      const replaced = await openSwarmTab(context, relay.running.url)
      expect(replaced.peerId).not.toBe(first.peerId)
      expect(replaced.warnings.join('\n')).toMatch(/tab identity slot-0 is corrupt, replacing it/)
      await replaced.page.close()
      expect((await openSwarmTab(context, relay.running.url)).peerId).toBe(replaced.peerId)
    } finally {
      await context.close()
    }
  })
})
