import { createClient, type JobSpec } from '@tabswarm/sdk'
import type { Browser } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.ts'
import { startTabswarmProcess, type TabswarmProcess } from '../support/tabswarm-process.ts'

/** One invocation iterating an LCG: seconds on SwiftShader, so Stop lands mid-task. */
const SPIN_WGSL = `
@group(0) @binding(0) var<storage, read> spins: array<u32>;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@compute @workgroup_size(1)
fn main() {
  var x = 1u;
  for (var i = 0u; i < spins[0]; i++) { x = x * 1664525u + 1013904223u; }
  state[0] = x;
}`
const SPINS = 300_000_000
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
    const spec: JobSpec = {
      kernel: 'custom',
      name: 'spin',
      program: {
        wgsl: SPIN_WGSL,
        inputs: [{ name: 'spins', dtype: 'uint32' }],
        outputs: [{ name: 'state', dtype: 'uint32' }],
      },
      tasks: [
        {
          inputs: [await client.uploadTensor({ shape: [1], data: Uint32Array.from([SPINS]) })],
          outputs: [{ shape: [1], dtype: 'uint32' }],
          workgroups: [1, 1, 1],
        },
      ],
      verification: { replication: 1, spotCheck: 0, canaries: 0 },
    }
    const job = await client.submit(spec)
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
