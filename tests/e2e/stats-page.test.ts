import { createHash } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { type NetworkStats, STATS_HOURS } from '@tabswarm/protocol'
import { defaultApiConfig } from '@tabswarm/relay'
import { createClient } from '@tabswarm/sdk'
import type { Browser } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.ts'
import { startWorkerProcess, type WorkerProcess } from '../support/headless-worker-process.ts'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { checkView, SCREENSHOTS_DIR } from '../support/page-views.ts'
import { randomMatrix } from '../support/random-matrix.ts'

/**
 * The public figures page (`/stats`) in Chromium, on a keyed relay, without credentials:
 * after a matmul computed by a headless worker it shows the contributor online, the
 * compute done (per hour, as a chart and a table for screen readers, and in total), the
 * jobs run and the credits paid and settled. A relay that publishes no figures gets an
 * error that says so, not a blank page. axe-core clean, fits 390 px, screenshotted.
 */
const KEY = 'tsk_e2e_stats_0123456789abcdefghij'
describe('the public stats page', () => {
  let relay: InProcessRelay
  let worker: WorkerProcess
  let browser: Browser

  beforeAll(async () => {
    await mkdir(SCREENSHOTS_DIR, { recursive: true })
    relay = await startInProcessRelay({
      api: {
        ...defaultApiConfig,
        apiKeys: [{ account: 'dana', sha256: createHash('sha256').update(KEY).digest('hex') }],
      },
      welcomeCredits: 1_000_000n,
    })
    browser = await launchChromium()
    worker = startWorkerProcess(relay.running.url)
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await worker?.interrupt(10_000)
    await relay?.stop()
  })

  it('shows who is online, the compute done per hour and in total, jobs and credits, without signing in', async (ctx) => {
    const routes = (await (await fetch(`${relay.running.url}/v1/openapi.json`)).json()) as {
      paths: Record<string, unknown>
    }
    // The figures are the relay's (GET /v1/stats); until it publishes them, nothing to show.
    if (routes.paths['/v1/stats'] == null) ctx.skip()
    const client = createClient({ relay: relay.running.url, apiKey: KEY })
    await client.matmul(
      { shape: [64, 48], data: randomMatrix(64, 48, 1) },
      { shape: [48, 40], data: randomMatrix(48, 40, 2) },
      { timeoutMs: 120_000 },
    )
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      const errors: string[] = []
      page.on('pageerror', (err) => errors.push(err.message))
      await page.goto(`${relay.running.url}/stats`)
      await expect.poll(() => page.evaluate(() => document.body.dataset.state)).toBe('ready')
      expect(await page.getByTestId('online').textContent()).toBe('1')
      expect(await page.getByTestId('speed').textContent()).toMatch(/GFLOP\/s$/)
      expect(await page.getByTestId('total-gflop').textContent()).toMatch(/^[\d.,]+ GFLOP$/)
      expect(Number(await page.getByTestId('tasks').textContent())).toBeGreaterThan(0)
      expect(await page.getByTestId('jobs').textContent()).toBe('1')
      expect(await page.getByTestId('jobs-completed').textContent()).toBe('1')
      expect(await page.getByTestId('credits-paid').textContent()).toMatch(/^[1-9][\d,]* credits?$/)
      expect(await page.getByTestId('credits-settled').textContent()).toBe('0 credits')
      expect(await page.getByTestId('hourly').getAttribute('data-hours')).toBe(String(STATS_HOURS))
      // The chart's figures in words: a row per hour, the last one with the work just done.
      const rows = page.getByTestId('hourly-table').locator('tr')
      expect(await rows.count()).toBe(STATS_HOURS + 1)
      expect(Number(await rows.last().locator('td').nth(2).textContent())).toBeGreaterThan(0)
      await checkView(page, 'stats')
      expect(errors).toEqual([])
    } finally {
      await context.close()
    }
  }, 180_000)

  it('draws the figures a relay publishes: a bar per hour, totals in words (figures given to the page)', async () => {
    // The page alone, fed a NetworkStats answer: its drawing does not wait on the relay's
    // figures (the test above reads the real ones where the relay has them).
    const now = Date.UTC(2026, 0, 2, 12)
    const stats: NetworkStats = {
      at: now,
      contributors: { online: 3, gflopPerSecond: 41.5 },
      compute: {
        totalGflop: 1234.5,
        tasks: 987,
        hourly: Array.from({ length: STATS_HOURS }, (_, i) => ({
          hour: now - (STATS_HOURS - 1 - i) * 3_600_000,
          gflop: i % 5 === 0 ? 0 : i * 2.5,
          tasks: i % 5 === 0 ? 0 : i * 3,
        })),
      },
      jobs: { total: 12, byStatus: { running: 1, completed: 9, failed: 1, cancelled: 1 } },
      credits: { paid: '123456789', settled: '100000000' },
    }
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      await page.route('**/v1/stats', (route) =>
        route.fulfill({
          status: 200,
          contentType: 'application/json',
          body: JSON.stringify(stats),
        }),
      )
      await page.goto(`${relay.running.url}/stats`)
      await expect.poll(() => page.evaluate(() => document.body.dataset.state)).toBe('ready')
      expect(await page.getByTestId('online').textContent()).toBe('3')
      expect(await page.getByTestId('speed').textContent()).toBe('41.5 GFLOP/s')
      expect(await page.getByTestId('total-gflop').textContent()).toBe('1,234.5 GFLOP')
      expect(await page.getByTestId('jobs').textContent()).toBe('12')
      expect(await page.getByTestId('credits-settled').textContent()).toBe('100,000,000 credits')
      const dayGflop = stats.compute.hourly.reduce((sum, h) => sum + h.gflop, 0)
      expect(await page.getByTestId('day-gflop').textContent()).toBe(
        `${dayGflop.toLocaleString('en', { maximumFractionDigits: 2 })} GFLOP`,
      )
      const rows = page.getByTestId('hourly-table').locator('tr')
      expect(await rows.count()).toBe(STATS_HOURS + 1)
      expect(await rows.last().locator('td').nth(1).textContent()).toBe('57.5')
      await checkView(page, 'stats-figures')
    } finally {
      await context.close()
    }
  }, 60_000)

  it('says so when the relay publishes no figures, rather than showing a blank page', async () => {
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      // An older relay: no /v1/stats route.
      await page.route('**/v1/stats', (route) =>
        route.fulfill({
          status: 404,
          contentType: 'application/json',
          body: JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no route GET /v1/stats' } }),
        }),
      )
      await page.goto(`${relay.running.url}/stats`)
      await expect.poll(() => page.evaluate(() => document.body.dataset.state)).toBe('error')
      expect(await page.getByTestId('stats-error').textContent()).toMatch(
        /does not publish its figures \(GET \/v1\/stats is missing\)/,
      )
      await checkView(page, 'stats-unpublished')
    } finally {
      await context.close()
    }
  }, 60_000)
})
