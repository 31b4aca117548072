import type { Browser, Page } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DecoderTabResult } from '../browser/decoder-tab-page.ts'
import { launchChromium } from '../support/chromium.ts'
import { type ServedPage, serveBuiltPage } from '../support/vite-page-server.ts'

// A tab's decoder path on Chromium's WebGPU (SwiftShader without a GPU, so the f32 path):
// the contributor loop runs two pipeline steps of a stage through the GPU stage on the
// page's kernel worker, the second on the KV cache the first left, each result signed.

let served: ServedPage
let browser: Browser
let page: Page

beforeAll(async () => {
  served = await serveBuiltPage('tests/browser/decoder-tab.vite.config.ts')
  browser = await launchChromium()
  page = await browser.newPage()
  await page.goto(`${served.url}decoder-tab.html`)
  await page.waitForFunction(() => 'decoderTab' in window, undefined, { timeout: 30_000 })
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await served?.close()
})

describe('a decoder stage in a Chromium tab', () => {
  it('runs a prefill and a cached step on the GPU stage, within tolerance, signed', async () => {
    const result: DecoderTabResult = await page.evaluate(() => window.decoderTab.run())
    console.info(`decoder stage in Chromium on ${result.adapter}`)
    expect(result).toMatchObject({
      tasks: 2,
      failed: 0,
      withinTolerance: [true, true],
      signed: [true, true],
      prefixFetches: 0,
    })
  }, 180_000)
})
