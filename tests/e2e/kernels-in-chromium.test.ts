import type { HostInfo } from '@tabswarm/worker-kernels'
import type { Browser, Page } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KERNEL_CASE_NAMES } from '../browser/kernel-cases.ts'
import { launchChromium } from '../support/chromium.ts'
import { type ServedPage, serveBuiltPage } from '../support/vite-page-server.ts'

// Every kernel in a real dedicated Web Worker of headless Chromium (WebGPU on SwiftShader
// where there is no GPU), through the comlink API the contributor page uses. The page
// compares each result with the f64 CPU reference; this side only reads the verdicts.

/** Longest one case may take (the 1024³ matmul and its CPU reference take a few seconds). */
const CASE_TIMEOUT_MS = 90_000

let served: ServedPage
let browser: Browser
let page: Page
let info: HostInfo
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
  info = await page.evaluate(() => window.kernelSuite.init())
})

afterAll(async () => {
  await browser?.close()
  await served?.close()
})

describe('kernels in a Chromium worker', () => {
  it('runs on a real WebGPU adapter inside the worker', () => {
    expect(info.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(64)
    expect(`${info.vendor} ${info.architecture} ${info.description}`.trim()).not.toBe('')
  })

  it.each(KERNEL_CASE_NAMES)(
    '%s',
    async (name) => {
      const outcome = await page.evaluate((n) => window.kernelSuite.run(n), name)
      expect(outcome.ok, outcome.detail).toBe(true)
      expect(pageErrors).toEqual([])
    },
    CASE_TIMEOUT_MS,
  )

  it(
    'a lost device fails the call in flight with DeviceLostError; the next call gets a new device',
    async () => {
      const outcome = await page.evaluate(() => window.kernelSuite.deviceLoss())
      expect(outcome.ok, outcome.detail).toBe(true)
      expect(pageErrors).toEqual([])
    },
    CASE_TIMEOUT_MS,
  )

  it('an unknown case name is reported, not passed', async () => {
    const outcome = await page.evaluate(() => window.kernelSuite.run('no such case'))
    expect(outcome).toEqual({ ok: false, detail: 'no case named "no such case"' })
  })
})
