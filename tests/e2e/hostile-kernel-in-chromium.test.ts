import type { Browser, Page } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.ts'
import { type ServedPage, serveBuiltPage } from '../support/vite-page-server.ts'

// Issue 9, defect 2, in a tab: a researcher's endless kernel in a real Chromium worker
// (WebGPU on SwiftShader where there is no GPU). A browser of its own: the endless
// dispatch keeps a core of its GPU process busy until the browser closes, which would slow
// every case run after it in a shared one.

let served: ServedPage
let browser: Browser
let page: Page
const pageErrors: string[] = []

beforeAll(async () => {
  served = await serveBuiltPage('tests/browser/vite.config.ts')
  browser = await launchChromium()
  page = await browser.newPage()
  page.on('pageerror', (err) => pageErrors.push(err.message))
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text())
  })
  await page.goto(`${served.url}kernels.html`)
  await page.waitForFunction(() => 'kernelSuite' in window, undefined, { timeout: 30_000 })
})

afterAll(async () => {
  await browser?.close()
  await served?.close()
})

describe('a hostile kernel in a tab', () => {
  it('times out at its deadline, the page stays responsive, and the worker is replaced by one with a new device', async () => {
    const outcome = await page.evaluate(() => window.kernelSuite.hostileKernel())
    console.info(`hostile kernel in Chromium: ${outcome.detail}`)
    expect(outcome.ok, outcome.detail).toBe(true)
    expect(pageErrors).toEqual([])
  }, 90_000)
})
