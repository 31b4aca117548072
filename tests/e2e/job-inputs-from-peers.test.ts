import { createClient } from '@tabswarm/sdk'
import type { Browser } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.ts'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { productMismatch } from '../support/product-check.ts'
import { randomMatrix } from '../support/random-matrix.ts'
import { openSwarmTab, type SwarmTab } from '../support/swarm-tabs.ts'

const [M, K, N, TILE] = [256, 256, 256, 32]
/** Every band of A and B is 32 KiB and read by 8 of the 64 tiles. */
const BAND_BYTES = TILE * K * 4
const BANDS = M / TILE + N / TILE

/** The relay's blob bytes sent for job parts (matmul bands), from its /metrics. */
async function partBytesSent(relay: InProcessRelay): Promise<number> {
  const text = await (await fetch(`${relay.running.url}/metrics`)).text()
  const line = text
    .split('\n')
    .find((l) => l.startsWith('tabswarm_relay_blob_bytes_sent_total{source="job-part"}'))
  return line == null ? 0 : Number(line.split(' ').at(-1))
}

describe('a matmul job’s inputs travel tab to tab', () => {
  let relay: InProcessRelay
  let browser: Browser
  const tabs: SwarmTab[] = []

  beforeAll(async () => {
    relay = await startInProcessRelay({ tileSize: TILE })
    browser = await launchChromium()
    for (let i = 0; i < 3; i++) tabs.push(await openSwarmTab(browser, relay.running.url))
    // Peers serve only once linked.
    for (const tab of tabs)
      await tab.page.waitForFunction(
        () => globalThis.tabswarm.stats().peers.direct >= 2,
        undefined,
        {
          timeout: 60_000,
          polling: 200,
        },
      )
  })

  afterAll(async () => {
    await browser?.close()
    await relay?.stop()
  })

  it('fetches bands from the peers that hold them, the relay sending each about once, and the product is right', async () => {
    const a = randomMatrix(M, K, 11)
    const b = randomMatrix(K, N, 12)
    const client = createClient({ relay: relay.running.url })
    const c = await client.matmul(
      { dtype: 'float32', shape: [M, K], data: a },
      { dtype: 'float32', shape: [K, N], data: b },
      { signal: AbortSignal.timeout(180_000) },
    )
    expect(productMismatch(c.data as Float32Array, a, b, M, K, N)).toBeUndefined()

    const stats = await Promise.all(
      tabs.map((t) => t.page.evaluate(() => globalThis.tabswarm.stats().blobs)),
    )
    const fromPeers = stats.reduce((sum, s) => sum + s.bytesFromPeers, 0)
    const fromRelay = stats.reduce((sum, s) => sum + s.bytesFromRelay, 0)
    // Three tabs over 64 tiles: without peers each tab fetches nearly every band it reads
    // from the relay (up to 3 × 16 bands); with them, later tiles read bands from peers.
    expect(fromPeers).toBeGreaterThan(0)
    expect(fromPeers + fromRelay).toBeGreaterThan(BANDS * BAND_BYTES)
    // The relay sent at least what the tabs say they got from it (a fetch cut short counts
    // on its side only), and well under one copy of every band per tab.
    const sent = await partBytesSent(relay)
    expect(sent).toBeGreaterThanOrEqual(fromRelay)
    expect(sent).toBeLessThan(2 * BANDS * BAND_BYTES)
    // No tab was handed wrong bytes by a peer.
    for (const s of stats) expect(s.hashMismatches).toBe(0)
  })
})
