import { WORK_PROTOCOL } from '@tabswarm/protocol'
import type { Browser } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.ts'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'

/** The work protocol of a page loaded before the relay was updated. */
const STALE_PROTOCOL = '/tabswarm/work/1.0.0'

/**
 * A tab whose page is older than its relay (loaded before the relay moved to a new work
 * protocol; here, the page's bundle rewritten to speak the old one): the panel says which
 * versions meet and to reload the page, and the tab stops asking (before, the failed
 * negotiation was a relay error, retried forever).
 */
describe('a tab older than its relay', () => {
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

  it('shows both versions and the fix, and stops', async () => {
    const page = await browser.newPage()
    await page.route('**/assets/*.js', async (route) => {
      const response = await route.fetch()
      const body = (await response.text()).replaceAll(WORK_PROTOCOL, STALE_PROTOCOL)
      await route.fulfill({ response, body })
    })
    await page.goto(`${relay.running.url}/?autostart`)
    await page.waitForFunction(() => document.body.dataset.state === 'error', undefined, {
      timeout: 60_000,
      polling: 200,
    })
    expect(await page.locator('#status').textContent()).toContain(
      `WORK_PROTOCOL_UNSUPPORTED: the relay speaks work protocol ${WORK_PROTOCOL}; this contributor speaks ${STALE_PROTOCOL}: update @tabswarm/sdk to a release that speaks ${WORK_PROTOCOL} (in a tab, reload the page)`,
    )
    expect(await page.locator('#relay').textContent()).toBe('refused (WORK_PROTOCOL_UNSUPPORTED)')
    expect(await page.locator('#log').textContent()).toContain('reload the page to update it')
    // Stopped for good: nothing more is asked and the state holds.
    const logged = await page.locator('#log').textContent()
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    expect(await page.locator('#log').textContent()).toBe(logged)
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('error')
    expect(await page.locator('#toggle').textContent()).toBe('Start contributing')
    await page.close()
  }, 120_000)
})
