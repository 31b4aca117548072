import { createClient } from '@tabswarm/sdk'
import type { Browser } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KERNELS_WEDGED_MESSAGE } from '../../web/src/contributor/status-panel.ts'
import { launchChromium } from '../support/chromium.ts'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'

/**
 * Short, so each endless kernel times out in 3 s (`kernelDeadlineMs`: the lease less a
 * quarter), yet long enough for a tab on a loaded 2-core machine to report it.
 */
const LEASE_MS = 4_000

/** A loop the compiler cannot prove finite: it ends only on an input nobody sends. */
const FOREVER_WGSL = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(1) fn main() {
  var i = 0u;
  loop { i = i + 1u; if (x[0] < -1.0) { break; } y[0] = f32(i); }
}`

/**
 * A tab that meets endless kernels abandons their workers (terminating one stalls Chromium's
 * GPU process), each with a core of the GPU process on SwiftShader. Past the page's cap (2)
 * it stops contributing and says why, instead of leaving a core behind at every hostile task.
 * A browser of its own: its endless kernels run until it closes.
 */
describe('a tab that meets endless kernels', () => {
  let relay: InProcessRelay
  let browser: Browser

  beforeAll(async () => {
    // No compile check at submit: the kernel compiles, and the check's dawn process costs time.
    relay = await startInProcessRelay({ leaseMs: LEASE_MS, wgslCheck: false })
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await relay?.stop()
  })

  it('reports both kernels in time, then stops contributing and says to reload', async () => {
    const page = await browser.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (err) => pageErrors.push(err.message))
    await page.goto(`${relay.running.url}/?autostart`)
    await page.waitForFunction(() => document.body.dataset.state === 'running', undefined, {
      timeout: 60_000,
      polling: 200,
    })

    const client = createClient({ relay: relay.running.url })
    const input = await client.uploadTensor({ shape: [1], data: new Float32Array(1) })
    const task = {
      inputs: [input],
      outputs: [{ shape: [1], dtype: 'float32' as const }],
      workgroups: [1, 1, 1] as [number, number, number],
    }
    const job = await client.submit({
      kernel: 'custom',
      name: 'forever',
      program: {
        wgsl: FOREVER_WGSL,
        inputs: [{ name: 'x', dtype: 'float32' }],
        outputs: [{ name: 'y', dtype: 'float32' }],
      },
      // Two tasks: the tab never gets back a task it reported, so it meets the second.
      tasks: [task, task],
      verification: { replication: 1, spotCheck: 0, canaries: 0 },
    })

    await page.waitForFunction(() => document.body.dataset.state === 'error', undefined, {
      timeout: 60_000,
      polling: 200,
    })
    expect(await page.locator('#status').textContent()).toBe(KERNELS_WEDGED_MESSAGE)
    expect(await page.locator('#toggle').isDisabled()).toBe(true)
    // Both kernels were reported as task errors while their leases were alive (not stale),
    // and the tab holds no lease any more.
    // (The coordinator logs a report, with its task, only once it has found the lease alive.)
    const recorded = relay.log.lines.filter(
      (l) => l.msg === 'task error reported' && l.fields.task != null,
    )
    expect(recorded.map((l) => [l.fields.task, l.fields.code]).sort()).toEqual([
      [0, 'KERNEL_TIMEOUT'],
      [1, 'KERNEL_TIMEOUT'],
    ])
    expect((await relay.running.coordinator.getJob(job.id)).tasks.leased).toBe(0)
    // Left the work loop: past a few of its idle retries, nothing more is asked or logged.
    const logged = await page.locator('#log').textContent()
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    expect(await page.locator('#log').textContent()).toBe(logged)
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('error')
    expect(pageErrors).toEqual([])
    await client.cancel(job.id)
    await page.close()
  }, 120_000)
})
