import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeNpy, parseNpy } from '@tabswarm/sdk'
import type { Browser, Page } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.ts'
import { numpyAgrees, productMismatch } from '../support/product-check.ts'
import { randomMatrix } from '../support/random-matrix.ts'
import { runCli } from '../support/run-cli.ts'
import { startSaboteur } from '../support/saboteur.ts'
import { startTabswarmProcess, type TabswarmProcess } from '../support/tabswarm-process.ts'

const M = 300
const K = 200
const N = 130
const TILE = 64
const TILES = Math.ceil(M / TILE) * Math.ceil(N / TILE)

describe('a matmul submitted with the CLI is computed by contributor tabs', () => {
  let system: TabswarmProcess
  let browser: Browser
  let dir: string
  const pageErrors: string[] = []

  beforeAll(async () => {
    system = await startTabswarmProcess({ env: { TABSWARM_TILE_SIZE: String(TILE) } })
    browser = await launchChromium()
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-e2e-'))
  })

  afterAll(async () => {
    await browser?.close()
    await system?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
    if (pageErrors.length > 0) console.error(pageErrors.join('\n'))
  })

  async function openTab(): Promise<Page> {
    const page = await browser.newPage()
    page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`))
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(`console: ${msg.text()}`)
    })
    await page.goto(`${system.url}/?autostart`)
    await page.waitForFunction(() => document.body.dataset.state === 'running', undefined, {
      timeout: 60_000,
    })
    return page
  }

  it('writes the verified product as .npy, rejecting a saboteur on the way', async () => {
    const a = randomMatrix(M, K, 1)
    const b = randomMatrix(K, N, 2)
    const [aPath, bPath, cPath] = ['a.npy', 'b.npy', 'c.npy'].map((f) => join(dir, f)) as [
      string,
      string,
      string,
    ]
    await writeFile(aPath, encodeNpy({ dtype: 'float32', shape: [M, K], data: a }))
    await writeFile(bPath, encodeNpy({ dtype: 'float32', shape: [K, N], data: b }))

    // The saboteur joins first and, alone in the swarm, leases tiles and returns wrong
    // products for them; only then do the honest tabs arrive.
    const saboteur = await startSaboteur(system.multiaddrs[0]!)
    const cli = runCli(['matmul', aPath, bPath, '-o', cPath, '--relay', system.url, '--json'])
    await expect
      .poll(() => saboteur.events.filter((e) => e.type === 'task-finished').length, {
        timeout: 60_000,
      })
      .toBeGreaterThan(0)

    const tabs = [await openTab(), await openTab()]
    const result = await cli
    await saboteur.stop()
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({
      output: cPath,
      shape: [M, N],
      dtype: 'float32',
    })

    const c = parseNpy(await readFile(cPath))
    expect(c.dtype).toBe('float32')
    expect(c.shape).toEqual([M, N])
    expect(productMismatch(c.data as Float32Array, a, b, M, K, N)).toBeUndefined()
    expect(await numpyAgrees(aPath, bPath, cPath)).toMatch(/^ok \(300, 130\)/)

    const sabotaged = saboteur.events.filter((e) => e.type === 'task-finished')
    expect(sabotaged.every((e) => e.outcome === 'rejected')).toBe(true)

    const accepted = await Promise.all(tabs.map((t) => t.locator('#accepted').textContent()))
    expect(accepted.map(Number).reduce((x, y) => x + y, 0)).toBe(TILES)
    expect(pageErrors).toEqual([])
  })
})
