import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright'
import { build } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.ts'
import { startWorkerProcess, type WorkerProcess } from '../support/headless-worker-process.ts'
import { productMismatch } from '../support/product-check.ts'
import { randomMatrix } from '../support/random-matrix.ts'
import { startTabswarmProcess, type TabswarmProcess } from '../support/tabswarm-process.ts'

const PAGE_CONFIG = fileURLToPath(new URL('../sdk-in-browser/vite.config.ts', import.meta.url))

/**
 * createClient in a browser: the SDK bundled by Vite into a page that the relay serves
 * from its own origin (its web root), driving a real relay from Chromium with a headless
 * worker doing the GPU work.
 */
describe('the SDK in a browser page', () => {
  let system: TabswarmProcess
  let worker: WorkerProcess
  let browser: Browser
  let page: Page
  let webRoot: string
  const pageErrors: string[] = []

  beforeAll(async () => {
    webRoot = await mkdtemp(join(tmpdir(), 'tabswarm-sdk-page-'))
    await build({ configFile: PAGE_CONFIG, build: { outDir: webRoot } })
    system = await startTabswarmProcess({ env: { TABSWARM_WEB_ROOT: webRoot } })
    worker = startWorkerProcess(system.url)
    browser = await launchChromium()
    page = await browser.newPage()
    page.on('pageerror', (err) => pageErrors.push(err.message))
    await page.goto(`${system.url}/index.html`)
    await page.waitForFunction(() => document.body.dataset.ready === 'true')
  })
  afterAll(async () => {
    await browser?.close()
    await worker?.interrupt(10_000)
    await system?.stop()
    await rm(webRoot, { recursive: true, force: true })
  })

  it('quotes a job and computes a verified matmul from the page', async () => {
    const [m, k, n] = [37, 29, 23]
    const a = randomMatrix(m, k, 51)
    const b = randomMatrix(k, n, 52)
    const answer = await page.evaluate(
      async ({ a, b, m, k, n }) => {
        const { createClient, encodeNpy, parseNpy } = window.tabswarmSdk
        const client = createClient({ relay: location.origin })
        const left = { shape: [m, k], data: Float32Array.from(a) }
        const right = { shape: [k, n], data: Float32Array.from(b) }
        const quote = await client.quote({
          kernel: 'matmul',
          inputs: { a: await client.uploadTensor(left), b: await client.uploadTensor(right) },
        })
        const states: string[] = []
        const c = await client.matmul(left, right, {
          onProgress: (job) => states.push(job.status),
          timeoutMs: 120_000,
        })
        // The .npy codec works in the page too.
        const roundTrip = parseNpy(encodeNpy(c))
        return {
          quote,
          states,
          shape: c.shape,
          data: Array.from(c.data),
          same: roundTrip.data.every((x, i) => x === c.data[i]),
        }
      },
      { a: Array.from(a), b: Array.from(b), m, k, n },
    )
    expect(answer.quote.tasks).toBeGreaterThan(0)
    expect(BigInt(answer.quote.credits)).toBeGreaterThan(0n)
    expect(answer.states.at(-1)).toBe('completed')
    expect(answer.shape).toEqual([m, n])
    expect(productMismatch(Float32Array.from(answer.data), a, b, m, k, n)).toBeUndefined()
    expect(answer.same).toBe(true)
    expect(pageErrors).toEqual([])
  })
})
