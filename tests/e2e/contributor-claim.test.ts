import type { Browser, Page } from 'playwright'
import { formatUnits, type Hex } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_MNEMONIC } from '../../relay/src/settlement/chain/local-chain.ts'
import { launchChromium } from '../support/chromium.ts'
import { completeSmallMatmul } from '../support/earn-credits.ts'
import { exposeInjectedTestWallet } from '../support/injected-test-wallet.ts'
import { type SettlementRelay, startSettlementRelay } from '../support/settlement-relay.ts'

/**
 * Earning and claiming from the contributor page in Chromium, against a real relay settling
 * on its embedded chain: the tab computes a job (`?autostart`), the ledger pays the wallet
 * its hello bound, the operator closes an epoch, and the page claims. This browser's key is
 * claimed by the relay (it pays the gas); a browser wallet binds itself (EIP-712), is asked
 * to add and switch to the chain, and sends its claim itself. The page's figures must be the
 * relay's, and each wallet's token balance must rise by exactly what it earned.
 */

/**
 * Base units per credit: one token of 6 decimals is 10^6 units, so a credit is 10^10 tokens
 * and one unit. Past 2^53 units a float drops that unit; a forgotten multiplication shows.
 */
const UNITS_PER_CREDIT = 10n ** 16n + 1n
const tokens = (units: bigint) => `${formatUnits(units, 6)} TSWC`
/** A funded dev account of the chain (the relay posts roots with account 0), as the visitor's browser wallet. */
const INJECTED = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 4 })
const ADDRESS = /^0x[0-9a-fA-F]{40}$/

describe('earning and claiming from the contributor page', () => {
  let relay: SettlementRelay
  let browser: Browser

  beforeAll(async () => {
    relay = await startSettlementRelay({ unitsPerCredit: UNITS_PER_CREDIT, tileSize: 8 })
    browser = await launchChromium()
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    await relay?.stop()
  })

  const api = async (path: string, init?: RequestInit) => {
    const response = await fetch(`${relay.running.url}${path}`, {
      ...init,
      signal: AbortSignal.timeout(30_000),
    })
    const body = await response.json()
    expect(response.status, JSON.stringify(body)).toBe(200)
    return body
  }
  const closeEpoch = () => api('/v1/settlement/epochs', { method: 'POST' })
  const figure = async (page: Page, id: string) =>
    BigInt((await page.getByTestId(id).getAttribute('data-units')) ?? -1)
  const waitForFigure = (page: Page, id: string, units: bigint) =>
    expect.poll(() => figure(page, id), { timeout: 20_000, interval: 200 }).toBe(units)

  /**
   * Opens the page contributing (`?autostart`) and waits until the relay heard its hello
   * with the wallet the page shows (`wallet`, when given: the page shows its own key first);
   * resolves with that wallet's address.
   */
  async function contribute(page: Page, query = '', wallet?: Hex): Promise<Hex> {
    await page.goto(`${relay.running.url}/?autostart${query}`)
    const shown = page.getByTestId('wallet-address')
    await expect.poll(() => shown.textContent(), { timeout: 30_000 }).toMatch(wallet ?? ADDRESS)
    const address = (await shown.textContent()) as Hex
    await expect
      .poll(
        () =>
          relay.log.lines.some(
            (l) => l.msg === 'contributor joined' && l.fields.wallet === address,
          ),
        { timeout: 60_000, interval: 200 },
      )
      .toBe(true)
    return address
  }

  /**
   * The tab computes a small job; resolves with what its wallet earned in token base units,
   * after checking the relay's ledger (`GET /v1/accounts`) and settlement figures agree and
   * that the page shows them.
   */
  async function earn(page: Page, address: Hex, seed: number): Promise<bigint> {
    const before = await api(`/v1/settlement/accounts/${address}`)
    await completeSmallMatmul(relay, { seed })
    const account = await api(`/v1/accounts/${address}`)
    expect(account.pending).toBe('0')
    const earned = BigInt(account.earned) * UNITS_PER_CREDIT
    expect(earned).toBeGreaterThan(0n)
    const units = earned - BigInt(before.claimable) - BigInt(before.claimed)
    expect((await api(`/v1/settlement/accounts/${address}`)).pending).toBe(units.toString())
    await waitForFigure(page, 'credits-pending', units)
    expect(await page.getByTestId('credits-pending').textContent()).toBe(tokens(units))
    return units
  }

  it("earns with this browser's key and claims it through the relay, which pays the gas", async () => {
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      const address = await contribute(page)
      expect(await page.getByTestId('wallet-source').getAttribute('data-source')).toBe('local')
      const units = await earn(page, address, 1)
      expect(await page.getByTestId('claim-button').isDisabled()).toBe(true)

      const epoch = await closeEpoch()
      expect(epoch).toMatchObject({ closed: true, epoch: 1, cumulativeTotal: units.toString() })
      await waitForFigure(page, 'credits-claimable', units)
      expect(await api(`/v1/settlement/accounts/${address}`)).toMatchObject({
        pending: '0',
        claimable: units.toString(),
        claimed: '0',
      })

      const claims = relay.claimsSent()
      await page.getByTestId('claim-button').click()
      const status = page.getByTestId('claim-status')
      await expect.poll(() => status.getAttribute('data-state'), { timeout: 30_000 }).toBe('done')
      expect(await status.textContent()).toMatch(
        new RegExp(`^claimed ${tokens(units)} in transaction 0x[0-9a-f]{64}`),
      )
      expect(await status.getAttribute('data-tx-hash')).toMatch(/^0x[0-9a-f]{64}$/)
      expect(await figure(page, 'credits-claimed')).toBe(units)
      expect(await figure(page, 'credits-claimable')).toBe(0n)
      expect(await relay.balanceOf(address)).toBe(units)
      expect(relay.claimsSent()).toBe(claims + 1)
      expect(await api(`/v1/settlement/accounts/${address}`)).toMatchObject({
        claimable: '0',
        claimed: units.toString(),
      })
    } finally {
      await context.close()
    }
  }, 180_000)

  it('earns with a browser wallet it binds; a declined switch claims nothing, then the wallet adds the chain, switches and sends its claim', async () => {
    const context = await browser.newContext()
    try {
      const calls: string[] = []
      let decline = true
      await exposeInjectedTestWallet(context, {
        account: INJECTED,
        chain: { id: 31_337, rpcUrl: relay.rpcUrl },
        declineSwitch: () => decline,
        onRequest: (method) => calls.push(method),
      })
      const page = await context.newPage()
      // The tab's hello carries the wallet's binding: the credit goes to the wallet.
      await contribute(page, '&wallet=injected', INJECTED.address)
      expect(await page.getByTestId('wallet-source').getAttribute('data-source')).toBe('injected')
      expect(calls).toContain('eth_signTypedData_v4')
      const units = await earn(page, INJECTED.address, 2)
      await closeEpoch()
      await waitForFigure(page, 'credits-claimable', units)

      const status = page.getByTestId('claim-status')
      await page.getByTestId('claim-button').click()
      await expect.poll(() => status.getAttribute('data-state'), { timeout: 30_000 }).toBe('error')
      expect(await status.textContent()).toMatch(
        /claim failed: the wallet declined to switch to chain 31337, where credits settle: approve it in the wallet/,
      )
      expect(await relay.balanceOf(INJECTED.address)).toBe(0n)
      // The visitor may try again, and approves this time.
      await expect.poll(() => page.getByTestId('claim-button').isDisabled()).toBe(false)
      decline = false
      const claims = relay.claimsSent()
      const ethBefore = await relay.publicClient.getBalance({ address: INJECTED.address })
      await page.getByTestId('claim-button').click()
      await expect.poll(() => status.getAttribute('data-state'), { timeout: 30_000 }).toBe('done')
      expect(await status.textContent()).toMatch(
        new RegExp(`^claimed ${tokens(units)} in transaction 0x[0-9a-f]{64}`),
      )
      expect(await relay.balanceOf(INJECTED.address)).toBe(units)
      expect(calls).toEqual(
        expect.arrayContaining([
          'wallet_switchEthereumChain',
          'wallet_addEthereumChain',
          'eth_sendTransaction',
        ]),
      )
      // The wallet sent it and paid the gas: the relay was not asked.
      expect(await relay.publicClient.getBalance({ address: INJECTED.address })).toBeLessThan(
        ethBefore,
      )
      expect(relay.claimsSent()).toBe(claims)
      await waitForFigure(page, 'credits-claimed', units)
    } finally {
      await context.close()
    }
  }, 180_000)
})
