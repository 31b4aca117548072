import type { Browser, Page } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GpuShareMeasurement } from '../browser/gpu-share-case.ts'
import { launchChromium } from '../support/chromium.ts'
import { type ServedPage, serveBuiltPage } from '../support/vite-page-server.ts'

// The GPU share a contributor chooses, on Chromium's WebGPU (SwiftShader where there is no
// GPU): a kernel host runs 512³ matmuls back to back under each share, and the page times
// every submission from `queue.submit` to `onSubmittedWorkDone` with a wrapper of its own.

/** Seconds of matmuls measured per share. */
const WINDOW_MS = 4_000
/** How far the measured busy fraction may stray from the share, in points. */
const TOLERANCE = 0.1

let served: ServedPage
let browser: Browser
let page: Page

beforeAll(async () => {
  served = await serveBuiltPage('tests/browser/vite.config.ts')
  browser = await launchChromium()
  page = await browser.newPage()
  await page.goto(`${served.url}kernels.html`)
  await page.waitForFunction(() => 'kernelSuite' in window, undefined, { timeout: 30_000 })
})

afterAll(async () => {
  await browser?.close()
  await served?.close()
})

describe('GPU share in Chromium', () => {
  const measured: GpuShareMeasurement[] = []

  it.each([1, 0.5, 0.25])(
    'a share of %d keeps the GPU busy that fraction of the time, in submissions of about 100 ms',
    async (share) => {
      const result = await page.evaluate(([s, ms]) => window.kernelSuite.gpuShare(s, ms), [
        share,
        WINDOW_MS,
      ] as const)
      measured.push(result)
      console.info(
        `gpu share ${share}: busy ${(result.busyFraction * 100).toFixed(1)} % over ${result.windowMs.toFixed(0)} ms, ` +
          `${result.submissions} submissions, longest ${result.longestSubmissionMs.toFixed(0)} ms`,
      )
      expect(result.submissions).toBeGreaterThan(4)
      expect(Math.abs(result.busyFraction - share)).toBeLessThanOrEqual(TOLERANCE)
      // Sized from the measured rate: none runs for seconds, as unpaced 2³⁰-FLOP ones do here.
      expect(result.longestSubmissionMs).toBeLessThan(400)
    },
    90_000,
  )
})
