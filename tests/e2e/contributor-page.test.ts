import { mkdir } from 'node:fs/promises'
import type { Browser, BrowserContext, Page } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM_ARGS, launchChromium } from '../support/chromium.ts'
import { completeSmallMatmul } from '../support/earn-credits.ts'
import { checkView, SCREENSHOTS_DIR } from '../support/page-views.ts'
import { type SettlementRelay, startSettlementRelay } from '../support/settlement-relay.ts'

/**
 * The contributor page as a visitor meets it, in Chromium against a real relay that settles
 * (so earnings show): each view (idle, running, no WebGPU) has no accessibility violation
 * (axe-core), no sideways scrolling at 390×844, and a screenshot at desktop and mobile
 * widths in tests/screenshots/ (ignored by git: CI keeps them as artefacts). Running, a task
 * completes and the counters and pending earnings rise; Stop works from the keyboard and
 * leaves nothing showing as connected.
 */

describe('the contributor page', () => {
  let relay: SettlementRelay
  let browser: Browser
  const errors: string[] = []

  beforeAll(async () => {
    await mkdir(SCREENSHOTS_DIR, { recursive: true })
    relay = await startSettlementRelay()
    browser = await launchChromium()
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    await relay?.stop()
  })

  const watch = (page: Page) => {
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`))
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`console: ${msg.text()}`)
    })
  }

  const text = (page: Page, selector: string) => page.locator(selector).textContent()

  it('says what it does and what it pays before Start, accessibly, on a phone too', async () => {
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      watch(page)
      await page.goto(relay.running.url)
      // The WebGPU check passed: Start is enabled, nothing has started.
      await expect.poll(() => page.locator('#toggle').isEnabled(), { timeout: 30_000 }).toBe(true)
      await expect
        .poll(() => page.getByTestId('wallet-address').textContent(), { timeout: 30_000 })
        .toMatch(/^0x[0-9a-fA-F]{40}$/)
      expect(await page.evaluate(() => document.body.dataset.state)).toBe('idle')
      const intro = (await text(page, 'header')) ?? ''
      expect(intro).toMatch(/verified/i)
      expect(intro).toMatch(/earn/i)
      expect(intro).toMatch(/stop/i)
      // Technical fields are behind the disclosure, closed at first.
      expect(await page.locator('#relay').isVisible()).toBe(false)
      expect(await page.locator('#unsupported').isVisible()).toBe(false)
      await checkView(page, 'idle')
      expect(errors).toEqual([])
    } finally {
      await context.close()
    }
  })

  it('runs a task, counts it and shows the pending earnings; Stop from the keyboard leaves nothing connected', async () => {
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      watch(page)
      await page.goto(`${relay.running.url}/?autostart`)
      await page.waitForFunction(() => document.body.dataset.state === 'running', undefined, {
        timeout: 60_000,
      })
      const address = (await page.getByTestId('wallet-address').textContent()) ?? ''
      // The relay binds the wallet at the tab's hello: only then is the work paid to it.
      await expect
        .poll(
          () =>
            relay.log.lines.some(
              (l) => l.msg === 'contributor joined' && l.fields.wallet === address,
            ),
          { timeout: 60_000, interval: 200 },
        )
        .toBe(true)
      expect(await text(page, '#accepted')).toBe('0')
      expect(await text(page, '#today')).toBe('0')

      await completeSmallMatmul(relay)
      const counted = async () => ({
        accepted: Number(await text(page, '#accepted')),
        pending: Number(await text(page, '#pending')),
        today: Number(await text(page, '#today')),
      })
      // One tab, one replica: the relay accepts its results outright.
      await expect
        .poll(counted, { timeout: 30_000, interval: 200 })
        .toMatchObject({ pending: 0, accepted: expect.any(Number) })
      const { accepted, today } = await counted()
      expect(accepted).toBeGreaterThan(0)
      expect(today).toBe(accepted)
      // The job as the relay describes it in the lease (`job`); a relay that does not yet
      // send those facts leaves the kind of work unsaid, never wrong.
      expect(await text(page, '#kernel')).toMatch(/^(matrix multiply|not reported by the relay)$/)
      expect(await text(page, '#job')).toMatch(/^(job [0-9a-f-]{8}|.+)$/)
      expect(await text(page, '#job')).not.toBe('none yet')
      await expect
        .poll(
          async () =>
            BigInt((await page.getByTestId('credits-pending').getAttribute('data-units')) ?? 0),
          { timeout: 20_000, interval: 200 },
        )
        .toBeGreaterThan(0n)

      await page.locator('summary', { hasText: 'Technical details' }).click()
      expect(await text(page, '#relay')).toMatch(/^\/ip4\//)
      const log = (await text(page, '#log')) ?? ''
      expect(log.match(/connected to the relay/g)).toHaveLength(1)
      expect(log).not.toMatch(/undefined/)
      await checkView(page, 'running')

      // Stop from the keyboard: Tab reaches the button, Enter presses it.
      await page.locator('body').focus()
      for (let i = 0; i < 20; i++) {
        if (await page.evaluate(() => document.activeElement?.id === 'toggle')) break
        await page.keyboard.press('Tab')
      }
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('toggle')
      expect(await text(page, '#toggle')).toBe('Stop')
      await page.keyboard.press('Enter')
      await page.waitForFunction(() => document.body.dataset.state === 'stopped')
      // Past the swarm's refresh (every second): nothing puts the connected values back.
      await new Promise((resolve) => setTimeout(resolve, 2_500))
      expect(await text(page, '#relay')).toBe('not connected')
      expect(await text(page, '#peers')).toBe('none (not contributing)')
      expect(await text(page, '#job')).toBe('none yet')
      // Tasks done today survive a reload.
      await page.reload()
      await expect.poll(() => text(page, '#today'), { timeout: 10_000 }).toBe(String(today))
      await checkView(page, 'stopped')
      expect(errors).toEqual([])
    } finally {
      await context.close()
    }
  })

  it('explains, before any click, why a browser without WebGPU cannot help', async () => {
    const noGpu = await launchChromium({
      args: CHROMIUM_ARGS.filter((a) => !/webgpu|swiftshader|Vulkan/i.test(a)),
    })
    let context: BrowserContext | undefined
    try {
      context = await noGpu.newContext()
      const page = await context.newPage()
      watch(page)
      await page.goto(relay.running.url)
      await page.waitForFunction(() => document.body.dataset.state === 'unsupported', undefined, {
        timeout: 30_000,
      })
      expect(await page.locator('#unsupported').isVisible()).toBe(true)
      expect(await text(page, '#unsupported-text')).toMatch(/WebGPU.*Chrome or Edge/s)
      expect(await page.locator('#toggle').isDisabled()).toBe(true)
      expect(await page.evaluate(() => globalThis.tabswarm.joined)).toBe(false)
      await checkView(page, 'no-webgpu')
      expect(errors).toEqual([])
    } finally {
      await noGpu.close()
    }
  })
})
