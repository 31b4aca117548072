import type { Browser, Page } from 'playwright'
import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.ts'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { exposeInjectedTestWallet } from '../support/injected-test-wallet.ts'

/**
 * The contributor page's wallet in Chromium, against a real relay: this browser's key
 * created once per profile and bound in hello, export and import, `?site=` checked, and a
 * browser wallet (an EIP-1193 provider backed by a viem account in Node) whose binding is
 * signed once and kept across reloads.
 */

const IMPORTED_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
const IMPORTED = privateKeyToAccount(IMPORTED_KEY)
const INJECTED = privateKeyToAccount(
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
)
const ADDRESS = /^0x[0-9a-fA-F]{40}$/

describe('the wallet on the contributor page', () => {
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

  /** The wallets tabs said hello with, by peer id, from the relay's log. */
  const joinedWallets = () =>
    relay.log.lines
      .filter((l) => l.msg === 'contributor joined')
      .map((l) => ({ peer: String(l.fields.peer), wallet: l.fields.wallet as string | undefined }))
  const text = (page: Page, id: string) => page.getByTestId(id).textContent()
  const addressShown = async (page: Page) => {
    await expect.poll(() => text(page, 'wallet-address'), { timeout: 30_000 }).toMatch(ADDRESS)
    return (await text(page, 'wallet-address'))!
  }

  it('creates one key per profile, binds it in hello, exports and imports it', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${relay.running.url}/?autostart&site=0x1234`)
    expect(await text(page, 'site-error')).toMatch(/"0x1234" is not a 0x-prefixed 20-byte address/)
    const address = await addressShown(page)
    expect(await page.getByTestId('wallet-source').getAttribute('data-source')).toBe('local')
    await expect
      .poll(() => joinedWallets().map((j) => j.wallet), { timeout: 60_000, interval: 200 })
      .toContain(address)

    // Another tab of the profile: the same key.
    const second = await context.newPage()
    await second.goto(`${relay.running.url}/`)
    expect(await addressShown(second)).toBe(address)

    // The key stays out of sight until asked for.
    expect(await page.getByTestId('wallet-export-panel').isVisible()).toBe(false)
    await page.getByTestId('wallet-export').click()
    // The key is read from IndexedDB after the click: wait for the panel to show it.
    await expect
      .poll(() => page.getByTestId('wallet-export-key').inputValue())
      .toMatch(/^0x[0-9a-fA-F]{64}$/)
    expect(await page.getByTestId('wallet-export-panel').isVisible()).toBe(true)
    const exported = await page.getByTestId('wallet-export-key').inputValue()
    expect(privateKeyToAccount(exported as Hex).address).toBe(address)
    expect(await page.getByTestId('wallet-export-panel').textContent()).toMatch(
      /Keep this key secret/,
    )

    await page.locator('summary', { hasText: 'Import a key' }).click()
    await page.getByTestId('wallet-import-key').fill(address)
    await page.getByTestId('wallet-import-submit').click()
    await expect.poll(() => text(page, 'wallet-error')).toMatch(/that is an address/)
    expect(await text(page, 'wallet-address')).toBe(address)

    await page.getByTestId('wallet-import-key').fill(exported.replace(/^0x/, '').replace(/./, 'x'))
    await page.getByTestId('wallet-import-submit').click()
    await expect.poll(() => text(page, 'wallet-error')).toMatch(/not hex digits/)

    await page.getByTestId('wallet-import-key').fill(IMPORTED_KEY)
    await page.getByTestId('wallet-import-submit').click()
    await expect.poll(() => text(page, 'wallet-address')).toBe(IMPORTED.address)
    // A tab opened after the import loads it.
    const third = await context.newPage()
    await third.goto(`${relay.running.url}/`)
    expect(await addressShown(third)).toBe(IMPORTED.address)
    await context.close()
  }, 180_000)

  it('says so when ?wallet=injected finds no browser wallet, and joins with the local key and a valid site', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const site = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8'
    await page.goto(`${relay.running.url}/?autostart&wallet=injected&site=${site}`)
    await expect
      .poll(() => text(page, 'wallet-error'), { timeout: 30_000 })
      .toMatch(/no browser wallet found/)
    const address = await addressShown(page)
    expect(await page.getByTestId('wallet-source').getAttribute('data-source')).toBe('local')
    expect(await page.getByTestId('site-error').isHidden()).toBe(true)
    // The relay took the binding that names the site.
    await expect
      .poll(() => joinedWallets().map((j) => j.wallet), { timeout: 60_000, interval: 200 })
      .toContain(address)
    await context.close()
  }, 120_000)

  it('binds a browser wallet, asking for its signature once across reloads', async () => {
    const context = await browser.newContext()
    let signatures = 0
    await exposeInjectedTestWallet(context, {
      account: INJECTED,
      onRequest: (method) => {
        if (method === 'eth_signTypedData_v4') signatures++
      },
    })
    const page = await context.newPage()
    await page.goto(`${relay.running.url}/?autostart&wallet=injected`)
    await expect
      .poll(() => text(page, 'wallet-address'), { timeout: 30_000 })
      .toBe(INJECTED.address)
    expect(await page.getByTestId('wallet-source').getAttribute('data-source')).toBe('injected')
    expect(await page.getByTestId('wallet-export').isHidden()).toBe(true)
    const helloes = () => joinedWallets().filter((j) => j.wallet === INJECTED.address).length
    await expect.poll(helloes, { timeout: 60_000, interval: 200 }).toBe(1)
    expect(signatures).toBe(1)

    await page.reload()
    await expect.poll(helloes, { timeout: 60_000, interval: 200 }).toBe(2)
    // The same binding, presented again: the visitor was not asked again.
    expect(signatures).toBe(1)
    await context.close()
  }, 180_000)
})
