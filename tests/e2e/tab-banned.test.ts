import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { startTabswarm } from '@tabswarm/relay'
import type { Browser } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.ts'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'

/**
 * A contributor tab the relay has banned is told why and stops: the page shows the relay's
 * reason and no longer asks for work (before, the refusal was a plain error and the tab said
 * hello again after every backoff, forever).
 */
describe('a banned contributor tab', () => {
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

  it('shows the relay’s reason and stops asking', async () => {
    const page = await browser.newPage()
    await page.goto(`${relay.running.url}/?autostart`)
    const joined = () =>
      relay.log.lines
        .filter((l) => l.msg === 'contributor joined')
        .map((l) => String(l.fields.peer))
    await expect.poll(joined, { timeout: 60_000, interval: 200 }).toHaveLength(1)
    const peer = joined()[0]!

    // Banned while the relay is down (as after faults found by another replica of it); the
    // tab says hello again once the relay is back.
    await relay.running.stop()
    const db = new DatabaseSync(join(relay.config.dataDir, 'coordinator.db'))
    db.prepare('INSERT INTO bans (key, reason, at) VALUES (?, ?, ?)').run(
      `peer:${peer}`,
      'faulty results (test)',
      Date.now(),
    )
    db.close()
    relay.running = await startTabswarm(relay.config, relay.log)

    await page.waitForFunction(() => document.body.dataset.state === 'error', undefined, {
      timeout: 60_000,
      polling: 200,
    })
    expect(await page.locator('#status').textContent()).toMatch(/CONTRIBUTOR_BANNED: .*banned/)
    expect(await page.locator('#relay').textContent()).toBe('refused (CONTRIBUTOR_BANNED)')
    // Stopped for good: past the first backoffs, nothing more is asked and the state holds.
    const logged = await page.locator('#log').textContent()
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    expect(await page.locator('#log').textContent()).toBe(logged)
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('error')
    expect(await page.locator('#toggle').textContent()).toBe('Start contributing')
    await page.close()
  }, 120_000)
})
