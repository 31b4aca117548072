import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultApiConfig } from '@tabswarm/relay'
import { createClient, encodeNpy } from '@tabswarm/sdk'
import type { Browser, Page } from 'playwright'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.ts'
import { startWorkerProcess, type WorkerProcess } from '../support/headless-worker-process.ts'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { exposeInjectedTestWallet } from '../support/injected-test-wallet.ts'
import { checkView, SCREENSHOTS_DIR } from '../support/page-views.ts'
import { pythonWithNumpy } from '../support/python-with-numpy.ts'
import { randomMatrix } from '../support/random-matrix.ts'

/**
 * The researcher dashboard (`/dashboard`) in Chromium against a real relay, its work done
 * by a real headless worker: a matmul from uploaded `.npy` files (one float64, converted
 * with a warning) is quoted, submitted, followed (its chart grows) and its product
 * downloaded and checked with numpy; a cancel shows the ledger's refund; a keyed relay
 * shows a sign-in form and an error without credentials, and works with an API key or a
 * wallet session. Each view passes axe-core, fits 390 px and is screenshotted.
 */
const KEY = 'tsk_e2e_dashboard_0123456789abcdef'
/** Doubles its input: one output element per input element. */
const DOUBLE_WGSL = `
@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x < arrayLength(&input)) { output[id.x] = input[id.x] * 2.0; }
}
`
const npyFile = (name: string, bytes: Uint8Array) => ({
  name,
  mimeType: 'application/octet-stream',
  buffer: Buffer.from(bytes),
})

/** A float64 `.npy` file as numpy saves by default (`<f8`). */
function float64Npy(shape: [number, number], data: Float32Array): Uint8Array {
  const float32 = encodeNpy({ dtype: 'float32', shape, data })
  const dataOffset = float32.byteLength - data.byteLength
  const header = float32.slice(0, dataOffset)
  // '<f4' and '<f8' are as long: the header keeps its length and alignment.
  const at = Buffer.from(header).indexOf("'<f4'")
  header[at + 3] = '8'.charCodeAt(0)
  const out = new Uint8Array(dataOffset + data.length * 8)
  out.set(header)
  out.set(new Uint8Array(new Float64Array(data).buffer), dataOffset)
  return out
}

describe('the researcher dashboard', () => {
  let browser: Browser
  let dir: string
  const errors: string[] = []
  const watch = (page: Page) => {
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`))
  }

  beforeAll(async () => {
    await mkdir(SCREENSHOTS_DIR, { recursive: true })
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-dashboard-'))
    browser = await launchChromium()
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await rm(dir, { recursive: true, force: true })
  })

  describe('on an open loopback relay', () => {
    let relay: InProcessRelay
    let worker: WorkerProcess | undefined
    let second: WorkerProcess | undefined

    beforeAll(async () => {
      // Small tiles: the matmul is several tasks, so its chart has something to draw.
      relay = await startInProcessRelay({ tileSize: 32 })
    }, 60_000)
    afterAll(async () => {
      await Promise.all([worker?.interrupt(10_000), second?.interrupt(10_000)])
      await relay?.stop()
    })

    it('quotes, submits and follows a matmul of uploaded .npy files, and downloads a product numpy agrees with', async () => {
      const context = await browser.newContext({ acceptDownloads: true })
      try {
        const page = await context.newPage()
        watch(page)
        await page.goto(`${relay.running.url}/dashboard`)
        await expect.poll(() => page.evaluate(() => document.body.dataset.state)).toBe('signed-in')
        expect(await page.getByTestId('access-status').textContent()).toMatch(/local account/)
        expect(await page.getByTestId('sign-in').isVisible()).toBe(false)
        await expect.poll(() => page.getByTestId('contributors').textContent()).toBe('0')
        await checkView(page, 'dashboard-open')

        const [m, k, n] = [96, 80, 72]
        const a = randomMatrix(m, k, 31)
        const b = randomMatrix(k, n, 32)
        await writeFile(join(dir, 'a.npy'), float64Npy([m, k], a))
        await writeFile(join(dir, 'b.npy'), encodeNpy({ dtype: 'float32', shape: [k, n], data: b }))
        await page.getByTestId('file-a').setInputFiles(npyFile('a.npy', float64Npy([m, k], a)))
        await page
          .getByTestId('file-b')
          .setInputFiles(npyFile('b.npy', encodeNpy({ dtype: 'float32', shape: [k, n], data: b })))
        // numpy's default float64 is refused with the file named and both fixes…
        await page.getByTestId('quote').click()
        await expect
          .poll(() => page.getByTestId('submit-error').textContent())
          .toMatch(/a\.npy holds float64.*convert float64 to float32.*astype\('float32'\)/)
        expect(await page.getByTestId('confirm').isDisabled()).toBe(true)
        // …and converted, with a warning, when asked.
        await page.getByTestId('cast').check()
        await page.getByTestId('quote').click()
        await expect
          .poll(() => page.getByTestId('quote-text').textContent(), { timeout: 30_000 })
          .toMatch(/^Quote: \d+ tasks?, [\d.,]+ GFLOP, [\d,]+ credits escrowed/)
        expect(await page.getByTestId('submit-warning').textContent()).toMatch(
          /a\.npy was converted from float64 to float32/,
        )
        const quoted = await page.getByTestId('quote-text').getAttribute('data-credits')
        await checkView(page, 'dashboard-quote')

        await page.getByTestId('confirm').click()
        const panel = page.getByTestId('job')
        await expect.poll(() => panel.count(), { timeout: 30_000 }).toBe(1)
        expect(await page.getByTestId('quote-text').textContent()).toMatch(
          new RegExp(`${BigInt(quoted!).toLocaleString('en')} credits escrowed`),
        )
        // No contributor yet: the job says what it waits for.
        await expect
          .poll(() => panel.getByTestId('job-waiting').textContent(), { timeout: 15_000 })
          .toMatch(/contributor/i)
        const samples = async () =>
          Number(await panel.locator('figure').getAttribute('data-samples'))
        await expect.poll(samples, { timeout: 15_000 }).toBeGreaterThan(0)
        const before = await samples()
        await checkView(page, 'dashboard-waiting')

        worker = startWorkerProcess(relay.running.url)
        await expect
          .poll(() => page.getByTestId('contributors').textContent(), { timeout: 60_000 })
          .toBe('1')
        await expect
          .poll(() => panel.getAttribute('data-status'), { timeout: 120_000, interval: 250 })
          .toBe('completed')
        // The chart grew while the job ran, and says its figures in words too.
        expect(await samples()).toBeGreaterThan(before)
        expect(await panel.getByTestId('chart-text').textContent()).toMatch(/accepted \d+/)
        const total = Number(await panel.getByTestId('tasks-total').textContent())
        expect(total).toBeGreaterThan(1)
        expect(await panel.getByTestId('tasks-accepted').textContent()).toBe(String(total))

        const [download] = await Promise.all([
          page.waitForEvent('download'),
          panel.getByTestId('job-download').click(),
        ])
        const out = join(dir, 'c.npy')
        await download.saveAs(out)
        const check = execFileSync(
          pythonWithNumpy(),
          [
            '-c',
            [
              'import sys, numpy as np',
              'a = np.load(sys.argv[1]).astype(np.float32)',
              'b = np.load(sys.argv[2])',
              'c = np.load(sys.argv[3])',
              'assert c.dtype == np.float32, c.dtype',
              'assert c.shape == (a.shape[0], b.shape[1]), c.shape',
              'print(np.allclose(c, a @ b, rtol=1e-4, atol=1e-4))',
            ].join('\n'),
            join(dir, 'a.npy'),
            join(dir, 'b.npy'),
            out,
          ],
          { encoding: 'utf8' },
        )
        expect(check.trim()).toBe('True')
        await checkView(page, 'dashboard-job')
        expect(errors).toEqual([])
      } finally {
        await context.close()
      }
    }, 240_000)

    it('runs a custom kernel from WGSL and .npy inputs, each task’s output downloadable', async () => {
      // A newcomer's custom results are checked by a second contributor: two workers.
      second = startWorkerProcess(relay.running.url)
      const context = await browser.newContext({ acceptDownloads: true })
      try {
        const page = await context.newPage()
        watch(page)
        await page.goto(`${relay.running.url}/dashboard`)
        await expect.poll(() => page.evaluate(() => document.body.dataset.state)).toBe('signed-in')
        await page.getByTestId('kind-custom').check()
        expect(await page.getByTestId('file-a').isVisible()).toBe(false)
        await page.getByTestId('wgsl').fill(DOUBLE_WGSL)
        const inputs = [0, 1].map((i) => ({
          dtype: 'float32' as const,
          shape: [100 + i],
          data: randomMatrix(1, 100 + i, 40 + i),
        }))
        await page
          .getByTestId('inputs')
          .setInputFiles(inputs.map((x, i) => npyFile(`x${i}.npy`, encodeNpy(x))))
        await page.getByTestId('quote').click()
        await expect
          .poll(() => page.getByTestId('quote-text').textContent(), { timeout: 30_000 })
          .toMatch(/^Quote: 2 tasks,/)
        await page.getByTestId('confirm').click()
        const panel = page.locator('[data-testid=job]').first()
        await expect
          .poll(() => panel.getAttribute('data-status'), { timeout: 120_000, interval: 250 })
          .toBe('completed')
        const outputs = panel.getByTestId('job-output')
        await expect.poll(() => outputs.count(), { timeout: 30_000 }).toBe(2)
        for (const [i, input] of inputs.entries()) {
          const [download] = await Promise.all([
            page.waitForEvent('download'),
            outputs.nth(i).click(),
          ])
          expect(download.suggestedFilename()).toMatch(new RegExp(`-task${i}-output0\\.npy$`))
          const out = join(dir, `y${i}.npy`)
          await download.saveAs(out)
          await writeFile(join(dir, `x${i}.npy`), encodeNpy(input))
          const check = execFileSync(
            pythonWithNumpy(),
            [
              '-c',
              'import sys, numpy as np; x = np.load(sys.argv[1]); y = np.load(sys.argv[2]); print(y.dtype == np.float32 and y.shape == x.shape and np.array_equal(y, x * 2))',
              join(dir, `x${i}.npy`),
              out,
            ],
            { encoding: 'utf8' },
          )
          expect(check.trim()).toBe('True')
        }
        // Earlier jobs lists the matmul, not the job shown above it; Show opens it.
        const id = (await panel.getAttribute('data-job-id'))!
        const recent = page.getByTestId('recent').locator('li')
        await expect.poll(() => recent.count(), { timeout: 10_000 }).toBe(1)
        expect(await recent.first().getAttribute('data-job-id')).not.toBe(id)
        expect(await recent.first().textContent()).toMatch(/^matmul, completed, 9\/9 tasks/)
        await checkView(page, 'dashboard-custom')
        await recent.first().getByRole('button').click()
        await expect.poll(() => page.getByTestId('job').count()).toBe(2)
        await expect.poll(() => recent.first().textContent()).toBe('none besides those above')
        expect(errors).toEqual([])
      } finally {
        await context.close()
      }
    }, 240_000)

    it('cancels a job and shows the refund the ledger made', async () => {
      // No contributor: the job stays unstarted, so the refund is the whole escrow.
      await Promise.all([worker?.interrupt(10_000), second?.interrupt(10_000)])
      worker = undefined
      second = undefined
      const context = await browser.newContext()
      try {
        const page = await context.newPage()
        watch(page)
        await page.goto(`${relay.running.url}/dashboard`)
        await expect.poll(() => page.evaluate(() => document.body.dataset.state)).toBe('signed-in')
        const [m, k, n] = [64, 64, 64]
        await page
          .getByTestId('file-a')
          .setInputFiles(
            npyFile(
              'a.npy',
              encodeNpy({ dtype: 'float32', shape: [m, k], data: randomMatrix(m, k, 1) }),
            ),
          )
        await page
          .getByTestId('file-b')
          .setInputFiles(
            npyFile(
              'b.npy',
              encodeNpy({ dtype: 'float32', shape: [k, n], data: randomMatrix(k, n, 2) }),
            ),
          )
        await page.getByTestId('quote').click()
        await expect
          .poll(() => page.getByTestId('confirm').isEnabled(), { timeout: 30_000 })
          .toBe(true)
        await page.getByTestId('confirm').click()
        const running = page.locator('[data-testid=job][data-status=running]')
        await expect.poll(() => running.count(), { timeout: 30_000 }).toBe(1)
        const id = (await running.getAttribute('data-job-id'))!
        const panel = page.locator(`[data-job-id="${id}"]`)
        await panel.getByTestId('job-cancel').click()
        const message = panel.getByTestId('job-message')
        await expect
          .poll(() => message.textContent(), { timeout: 30_000 })
          .toMatch(/^Cancelled\. [\d,]+ credits refunded/)
        const shown = BigInt((await message.getAttribute('data-refunded'))!)
        const job = await createClient({ relay: relay.running.url }).getJob(id)
        expect(job.status).toBe('cancelled')
        expect(shown).toBe(BigInt(job.credits.refunded))
        expect(shown).toBe(BigInt(job.credits.budget))
        expect(await panel.getByTestId('credits-refunded').getAttribute('data-units')).toBe(
          job.credits.refunded,
        )
        await expect.poll(() => panel.getAttribute('data-status')).toBe('cancelled')
        await checkView(page, 'dashboard-cancelled')
        expect(errors).toEqual([])
      } finally {
        await context.close()
      }
    }, 120_000)
  })

  describe('on a keyed relay', () => {
    let relay: InProcessRelay

    beforeAll(async () => {
      relay = await startInProcessRelay({
        api: {
          ...defaultApiConfig,
          apiKeys: [{ account: 'carol', sha256: createHash('sha256').update(KEY).digest('hex') }],
        },
      })
    }, 60_000)
    afterAll(() => relay?.stop())

    it('serves /dashboard and /stats as the relay’s own pages: HTML, no cross-origin headers', async () => {
      for (const path of ['/dashboard', '/dashboard.html', '/stats', '/stats.html']) {
        const response = await fetch(`${relay.running.url}${path}`)
        expect(response.status, path).toBe(200)
        expect(response.headers.get('content-type'), path).toMatch(/^text\/html/)
        expect(response.headers.get('access-control-allow-origin'), path).toBeNull()
        expect(await response.text(), path).toMatch(/<title>Tabswarm: /)
      }
    })

    it('refuses without credentials, saying so beside a sign-in form, and works with an API key kept out of the URL', async () => {
      const context = await browser.newContext()
      try {
        const page = await context.newPage()
        watch(page)
        await page.goto(`${relay.running.url}/dashboard`)
        await expect.poll(() => page.evaluate(() => document.body.dataset.state)).toBe('signed-out')
        expect(await page.getByTestId('sign-in').isVisible()).toBe(true)
        expect(await page.getByTestId('access-error').textContent()).toMatch(
          /requires you to sign in/,
        )
        expect(await page.getByTestId('job-form').isVisible()).toBe(false)
        await checkView(page, 'dashboard-sign-in')

        await page.getByTestId('api-key').fill('tsk_not_a_key_0000000000000000')
        await page.getByTestId('api-key-submit').click()
        await expect
          .poll(() => page.getByTestId('access-error').textContent())
          .toMatch(/API key was refused/)

        await page.getByTestId('api-key').fill(KEY)
        await page.getByTestId('api-key-submit').click()
        await expect.poll(() => page.evaluate(() => document.body.dataset.state)).toBe('signed-in')
        expect(await page.getByTestId('access-status').textContent()).toMatch(
          /API key ending …cdef/,
        )
        expect(await page.getByTestId('job-form').isVisible()).toBe(true)
        expect(page.url()).not.toContain(KEY)
        expect(await page.evaluate(() => JSON.stringify(sessionStorage))).toContain(KEY)
        expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain(KEY)
        // Kept for this tab: a reload stays signed in.
        await page.reload()
        await expect.poll(() => page.evaluate(() => document.body.dataset.state)).toBe('signed-in')
        expect(errors).toEqual([])
      } finally {
        await context.close()
      }
    }, 60_000)

    it('signs in with a browser wallet: one signature opens one session', async (ctx) => {
      const routes = (await (await fetch(`${relay.running.url}/v1/openapi.json`)).json()) as {
        paths: Record<string, unknown>
      }
      // Wallet sessions are the relay's (POST /v1/sessions); until it has them, nothing to test.
      if (routes.paths['/v1/sessions'] == null) ctx.skip()
      const context = await browser.newContext()
      let signatures = 0
      await exposeInjectedTestWallet(context, {
        account: privateKeyToAccount(generatePrivateKey()),
        onRequest: (method) => {
          if (method === 'eth_signTypedData_v4') signatures++
        },
      })
      try {
        const page = await context.newPage()
        watch(page)
        await page.goto(`${relay.running.url}/dashboard`)
        await expect.poll(() => page.evaluate(() => document.body.dataset.state)).toBe('signed-out')
        await page.getByTestId('wallet-sign-in').click()
        await expect
          .poll(() => page.evaluate(() => document.body.dataset.state), { timeout: 30_000 })
          .toBe('signed-in')
        expect(await page.getByTestId('access-status').textContent()).toMatch(/wallet 0x/)
        // Requests after the sign-in carry the session's token: no more signatures.
        await page.reload()
        await expect.poll(() => page.evaluate(() => document.body.dataset.state)).toBe('signed-in')
        expect(signatures).toBe(1)
        // The session's token is kept for this tab, not the wallet's signature.
        const token = await page.evaluate(
          () =>
            JSON.parse(sessionStorage.getItem('tabswarm.dashboard.credentials') ?? '{}')
              .token as string,
        )
        expect(token).toMatch(/^tss_/)
        await checkView(page, 'dashboard-wallet')
        // Sign-out ends the session at the relay: its token no longer works.
        await page.getByTestId('sign-out').click()
        await expect.poll(() => page.evaluate(() => document.body.dataset.state)).toBe('signed-out')
        await expect
          .poll(async () => {
            const response = await fetch(`${relay.running.url}/v1/jobs`, {
              headers: { authorization: `Bearer ${token}` },
            })
            return response.status
          })
          .toBe(401)
        expect(errors).toEqual([])
      } finally {
        await context.close()
      }
    }, 60_000)
  })
})
