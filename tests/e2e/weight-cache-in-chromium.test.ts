import type { Browser, Page } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.ts'
import { type ServedPage, serveBuiltPage } from '../support/vite-page-server.ts'

// The tab's weight cache on Chromium's own IndexedDB: what a returning tab finds after a
// reload, LRU eviction by bytes, and a corrupted entry dropped rather than used.

let served: ServedPage
let browser: Browser
let page: Page

const KIB = 1024

async function load(capacityBytes: number) {
  await page.goto(`${served.url}weight-cache.html`)
  await page.waitForFunction(() => 'weightCachePage' in window, undefined, { timeout: 30_000 })
  await page.evaluate((cap) => window.weightCachePage.open(cap), capacityBytes)
}

beforeAll(async () => {
  served = await serveBuiltPage('tests/browser/weight-cache.vite.config.ts')
  browser = await launchChromium()
  // One context for every visit: its IndexedDB outlives the reloads, as a profile's would.
  page = await (await browser.newContext()).newPage()
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await served?.close()
})

describe('the weight cache in Chromium', () => {
  it('answers a returning tab from IndexedDB, evicts by bytes, drops a corrupted entry', async () => {
    await load(300 * KIB)
    expect(await page.evaluate(() => window.weightCachePage.get(1, 100 * 1024))).toBe(false)
    for (const fill of [1, 2])
      expect(
        await page.evaluate((f) => window.weightCachePage.put(f, 100 * 1024), fill),
      ).toMatchObject({
        kept: true,
      })

    // A reload: nothing in memory survives, the weights do.
    await load(300 * KIB)
    expect(await page.evaluate(() => window.weightCachePage.get(1, 100 * 1024))).toBe(true)
    expect(await page.evaluate(() => window.weightCachePage.get(2, 100 * 1024))).toBe(true)
    expect(await page.evaluate(() => window.weightCachePage.stats())).toMatchObject({
      hits: 2,
      misses: 0,
      hitRate: 1,
      entries: 2,
      bytesUsed: 200 * KIB,
    })

    // Two more of 100 KiB in 300 KiB: the least recently used (1, read before 2) goes.
    await page.evaluate(() => window.weightCachePage.get(2, 100 * 1024))
    await page.evaluate(() => window.weightCachePage.put(3, 100 * 1024))
    await page.evaluate(() => window.weightCachePage.put(4, 100 * 1024))
    await load(300 * KIB)
    const present = await page.evaluate(async () =>
      Promise.all([1, 2, 3, 4].map((f) => window.weightCachePage.get(f, 100 * 1024))),
    )
    expect(present).toEqual([false, true, true, true])

    await page.evaluate(() => window.weightCachePage.tamper(3, 100 * 1024))
    expect(await page.evaluate(() => window.weightCachePage.get(3, 100 * 1024))).toBe(false)
    expect(await page.evaluate(() => window.weightCachePage.stats())).toMatchObject({
      corrupt: 1,
      entries: 2,
    })
  }, 120_000)
})
