import type { Browser, BrowserContext, Page } from 'playwright'
import type { Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.ts'
import {
  type DistributorChain,
  devAccount,
  startDistributorChain,
} from '../support/distributor-chain.ts'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import {
  type SettlementApiStandIn,
  startSettlementApiStandIn,
} from '../support/settlement-api-stand-in.ts'

/**
 * Claiming from the contributor page in Chromium, against a real distributor on an EDR
 * chain: the page's settlement requests go to a stand-in of the relay's settlement API
 * (routed by Playwright) until the relay serves it. This browser's key is claimed by the
 * relay (it pays the gas); a browser wallet sends its claim itself, after the page had it
 * add and switch to the chain.
 */

const TSC = 10n ** 18n
/** A Hardhat dev account (it holds ETH on EDR), as the visitor's browser wallet. */
const INJECTED = devAccount(4)

describe('claiming from the contributor page', () => {
  let relay: InProcessRelay
  let chain: DistributorChain
  let settlement: SettlementApiStandIn
  let browser: Browser

  beforeAll(async () => {
    chain = await startDistributorChain()
    settlement = await startSettlementApiStandIn(chain)
    relay = await startInProcessRelay()
    browser = await launchChromium()
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    await relay?.stop()
    await settlement?.close()
    await chain?.close()
  })

  async function newContext(): Promise<BrowserContext> {
    const context = await browser.newContext()
    await context.route(/\/v1\/settlement/, async (route) => {
      const url = new URL(route.request().url())
      const response = await route.fetch({ url: `${settlement.url}${url.pathname}` })
      await route.fulfill({ response })
    })
    return context
  }
  const closeEpoch = () => fetch(`${settlement.url}/v1/settlement/epochs`, { method: 'POST' })
  const figure = (page: Page, id: string) => page.getByTestId(id).getAttribute('data-units')

  it("claims this browser's key through the relay, showing the figures and the tx", async () => {
    const context = await newContext()
    const page = await context.newPage()
    await page.goto(`${relay.running.url}/`)
    await expect
      .poll(() => page.getByTestId('wallet-address').textContent(), { timeout: 30_000 })
      .toMatch(/^0x[0-9a-fA-F]{40}$/)
    const address = (await page.getByTestId('wallet-address').textContent()) as Hex

    settlement.ledger.set(address, (3n * TSC) / 2n + 1n)
    await expect
      .poll(() => figure(page, 'credits-pending'), { timeout: 15_000 })
      .toBe('1500000000000000001')
    expect(await page.getByTestId('credits-pending').textContent()).toBe('1.500000000000000001 TSC')
    expect(await page.getByTestId('claim-button').isDisabled()).toBe(true)

    await closeEpoch()
    await expect
      .poll(() => figure(page, 'credits-claimable'), { timeout: 15_000 })
      .toBe('1500000000000000001')
    await page.getByTestId('claim-button').click()
    const status = page.getByTestId('claim-status')
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 30_000 }).toBe('done')
    expect(await status.textContent()).toMatch(
      /claimed 1.500000000000000001 TSC in transaction 0x[0-9a-f]{64}/,
    )
    expect(await status.getAttribute('data-tx-hash')).toMatch(/^0x[0-9a-f]{64}$/)
    expect(await figure(page, 'credits-claimed')).toBe('1500000000000000001')
    expect(await figure(page, 'credits-claimable')).toBe('0')
    expect(await chain.balanceOf(address)).toBe((3n * TSC) / 2n + 1n)
    expect(settlement.requests).toContain('POST /v1/settlement/claims')
    await context.close()
  }, 120_000)

  it('has a browser wallet add and switch to the chain, then send its claim', async () => {
    const context = await newContext()
    const calls: string[] = []
    await exposeChainWallet(context, chain, calls)
    const page = await context.newPage()
    await page.goto(`${relay.running.url}/?wallet=injected`)
    await expect
      .poll(() => page.getByTestId('wallet-address').textContent(), { timeout: 30_000 })
      .toBe(INJECTED.address)
    settlement.ledger.set(INJECTED.address, 2n * TSC)
    await closeEpoch()
    await expect
      .poll(() => figure(page, 'credits-claimable'), { timeout: 15_000 })
      .toBe((2n * TSC).toString())
    const claimsBefore = settlement.requests.filter((r) => r === 'POST /v1/settlement/claims')
    await page.getByTestId('claim-button').click()
    const status = page.getByTestId('claim-status')
    await expect
      .poll(() => status.getAttribute('data-state'), { timeout: 30_000 })
      .not.toBe('working')
    expect(await status.textContent()).toMatch(/claimed 2 TSC in transaction 0x[0-9a-f]{64}/)
    expect(await chain.balanceOf(INJECTED.address)).toBe(2n * TSC)
    expect(calls).toEqual(
      expect.arrayContaining([
        'wallet_switchEthereumChain',
        'wallet_addEthereumChain',
        'eth_sendTransaction',
      ]),
    )
    // The wallet paid: the relay was not asked.
    expect(settlement.requests.filter((r) => r === 'POST /v1/settlement/claims')).toEqual(
      claimsBefore,
    )
    await context.close()
  }, 120_000)

  it('says the visitor declined the switch of chain, and claims nothing', async () => {
    const context = await newContext()
    await exposeChainWallet(context, chain, [], { refuseSwitch: true })
    const page = await context.newPage()
    await page.goto(`${relay.running.url}/?wallet=injected`)
    settlement.ledger.set(INJECTED.address, 3n * TSC)
    await closeEpoch()
    const before = await chain.balanceOf(INJECTED.address)
    await expect
      .poll(() => figure(page, 'credits-claimable'), { timeout: 15_000 })
      .toBe((3n * TSC - before).toString())
    await page.getByTestId('claim-button').click()
    const status = page.getByTestId('claim-status')
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 30_000 }).toBe('error')
    expect(await status.textContent()).toMatch(
      /claim failed: the wallet declined to switch to chain 31337, where credits settle: approve it in the wallet/,
    )
    // The visitor may try again.
    await expect.poll(() => page.getByTestId('claim-button').isDisabled()).toBe(false)
    expect(await chain.balanceOf(INJECTED.address)).toBe(before)
    await context.close()
  }, 120_000)
})

/**
 * `window.ethereum` backed by a dev account in this process: it starts on chain 1 and does
 * not know the EDR chain until asked to add it (error 4902 first, as real wallets answer);
 * it sends transactions on the EDR chain and forwards reads to its RPC.
 */
async function exposeChainWallet(
  context: BrowserContext,
  chain: DistributorChain,
  calls: string[],
  options: { refuseSwitch?: boolean } = {},
): Promise<void> {
  let chainId = 1
  let known = false
  const wallet = chain.walletOf(INJECTED)
  await context.exposeFunction(
    '__testWalletRequest',
    async (method: string, params: unknown[] | undefined) => {
      calls.push(method)
      const fail = (code: number, message: string) => ({ rpcError: { code, message } })
      switch (method) {
        case 'eth_requestAccounts':
        case 'eth_accounts':
          return [INJECTED.address]
        case 'eth_chainId':
          return `0x${chainId.toString(16)}`
        case 'wallet_switchEthereumChain': {
          const id = Number((params?.[0] as { chainId?: string } | undefined)?.chainId)
          if (options.refuseSwitch) return fail(4001, 'User rejected the request.')
          if (id !== 1 && !known) return fail(4902, `unrecognized chain ${id}`)
          chainId = id
          return null
        }
        case 'wallet_addEthereumChain':
          known = true
          return null
        case 'eth_signTypedData_v4':
          return fail(4001, 'the test wallet signs no bindings here')
        case 'eth_sendTransaction': {
          if (chainId !== chain.chain.id) return fail(4901, 'wrong chain')
          const tx = params?.[0] as { to: Hex; data: Hex }
          return wallet.sendTransaction({
            account: INJECTED,
            chain: chain.chain,
            to: tx.to,
            data: tx.data,
          })
        }
        default: {
          const response = await fetch(chain.rpcUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: params ?? [] }),
          })
          const answer = (await response.json()) as {
            result?: unknown
            error?: { code: number; message: string }
          }
          if (answer.error) return fail(answer.error.code, answer.error.message)
          return answer.result
        }
      }
    },
  )
  await context.addInitScript(() => {
    const call = (
      globalThis as unknown as {
        __testWalletRequest: (method: string, params: unknown) => Promise<unknown>
      }
    ).__testWalletRequest
    ;(globalThis as { ethereum?: unknown }).ethereum = {
      // Playwright passes a thrown error's message only: EIP-1193 errors travel as values.
      request: async ({ method, params }: { method: string; params?: unknown }) => {
        const answer = (await call(method, params)) as {
          rpcError?: { code: number; message: string }
        }
        if (answer?.rpcError)
          throw Object.assign(new Error(answer.rpcError.message), answer.rpcError)
        return answer
      },
      on() {},
      removeListener() {},
    }
  })
}
