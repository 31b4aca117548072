import { createClient } from '@tabswarm/sdk'
import type { Browser } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.ts'
import { spinJob } from '../support/spin-job.ts'
import { startTabswarmProcess, type TabswarmProcess } from '../support/tabswarm-process.ts'

/** Seconds on SwiftShader, so Stop lands mid-task (see spin-job.ts for a faster GPU). */
const TASK_MS = 10_500
/** Far longer than the test: only a hand-back frees the task in time. */
const LEASE_MS = 180_000

/** The contributor clicks Stop while its tab computes a task. */
describe('Stop on the contributor page', () => {
  let system: TabswarmProcess
  let browser: Browser

  beforeAll(async () => {
    system = await startTabswarmProcess({ env: { TABSWARM_LEASE_MS: String(LEASE_MS) } })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await system?.stop()
  })

  it('hands the task in flight back to the relay before the tab leaves the swarm', async () => {
    const page = await browser.newPage()
    await page.goto(`${system.url}/?autostart`)
    await page.waitForFunction(() => document.body.dataset.state === 'running', undefined, {
      timeout: 60_000,
    })

    const client = createClient({ relay: system.url })
    const job = await client.submit(await spinJob(client, { ms: TASK_MS }))
    try {
      await page.waitForFunction(
        () => document.getElementById('status')?.textContent?.startsWith('computing'),
        undefined,
        { timeout: 60_000, polling: 100 },
      )
      expect((await job.status()).tasks.leased).toBe(1)

      await page.click('#toggle')
      await page.waitForFunction(
        () => document.getElementById('log')?.textContent?.includes('handed back to the relay'),
        undefined,
        { timeout: 15_000, polling: 100 },
      )
      // The relay holds no lease for it any more: the task is queued for the next contributor
      // now, not in three minutes.
      const after = await job.status()
      expect(after.status).toBe('running')
      expect(after.tasks.leased).toBe(0)
      expect(after.tasks.accepted).toBe(0)
      expect(await page.evaluate(() => document.body.dataset.state)).toBe('stopped')
    } finally {
      await job.cancel()
    }
  })
})
