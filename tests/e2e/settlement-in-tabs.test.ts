import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import { distributorAbi, type EpochView, type WalletCredits } from '@tabswarm/protocol'
import { encodeNpy } from '@tabswarm/sdk'
import { bindWallet } from '@tabswarm/sdk/contributor'
import type { Browser, Page } from 'playwright'
import { getAddress, type Hex } from 'viem'
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.ts'
import { exposeInjectedTestWallet } from '../support/injected-test-wallet.ts'
import { randomMatrix } from '../support/random-matrix.ts'
import { runCli } from '../support/run-cli.ts'
import { startSaboteur } from '../support/saboteur.ts'
import { type SettlementRelay, startSettlementRelay } from '../support/settlement-relay.ts'

/**
 * Credits reach wallets, every part real: two Chromium tabs compute a matmul (one with this
 * browser's key, opened through a site's widget link; one with an injected EIP-1193 wallet
 * backed by a viem account), a saboteur with a wallet of its own is caught, the relay closes
 * an epoch on its embedded EDR chain, and each tab claims from the page. Each wallet's token
 * balance rises by exactly its ledger payout, the site gets exactly its share, the saboteur
 * nothing, and the published tree is the root on chain.
 */

const M = 256
const K = 128
const N = 192
const TILE = 64
const SITE_SHARE_BPS = 1000n
/** A Hardhat dev account: it holds ETH on the embedded chain, so it can pay for its claim. */
const INJECTED = mnemonicToAccount('test test test test test test test test test test test junk', {
  addressIndex: 7,
})
const SITE = privateKeyToAccount(generatePrivateKey()).address
const SABOTEUR = privateKeyToAccount(generatePrivateKey())

describe('credits reach wallets: tabs compute, an epoch settles, the page claims', () => {
  let relay: SettlementRelay
  let browser: Browser
  let dir: string
  const pageErrors: string[] = []

  beforeAll(async () => {
    relay = await startSettlementRelay({ tileSize: TILE })
    browser = await launchChromium()
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-settle-'))
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await relay?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
    if (pageErrors.length > 0) console.error(pageErrors.join('\n'))
  })

  const api = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const response = await fetch(`${relay.running.url}${path}`, {
      ...init,
      signal: AbortSignal.timeout(60_000),
    })
    if (!response.ok)
      throw new Error(`${path} answered ${response.status}: ${await response.text()}`)
    return (await response.json()) as T
  }
  const earned = async (address: string) =>
    BigInt((await api<{ earned: string }>(`/v1/accounts/${address}`)).earned)
  const tokenBalance = (address: Hex) => relay.balanceOf(address)
  const units = (page: Page, id: string) => page.getByTestId(id).getAttribute('data-units')

  /** A tab in a browser profile of its own (its own local key), started with `?autostart`. */
  async function openTab(query: string, injected = false): Promise<Page> {
    const context = await browser.newContext()
    if (injected)
      await exposeInjectedTestWallet(context, {
        account: INJECTED,
        chain: { id: 31337, rpcUrl: relay.rpcUrl },
      })
    const page = await context.newPage()
    page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`))
    await page.goto(`${relay.running.url}/?autostart&${query}`)
    await page.waitForFunction(() => document.body.dataset.state === 'running', undefined, {
      timeout: 60_000,
    })
    return page
  }

  /** Runs a matmul through the CLI until it completes; seeds make each job's data its own. */
  async function matmul(seed: number) {
    const [aPath, bPath, cPath] = ['a', 'b', 'c'].map((f) => join(dir, `${f}${seed}.npy`)) as [
      string,
      string,
      string,
    ]
    await writeFile(
      aPath,
      encodeNpy({ dtype: 'float32', shape: [M, K], data: randomMatrix(M, K, seed) }),
    )
    await writeFile(
      bPath,
      encodeNpy({ dtype: 'float32', shape: [K, N], data: randomMatrix(K, N, seed + 1) }),
    )
    return runCli(['matmul', aPath, bPath, '-o', cPath, '--relay', relay.running.url, '--json'])
  }

  it('pays each wallet exactly its ledger payout, the site its share, the saboteur nothing', async () => {
    // The saboteur, alone at first, leases tiles and answers them wrong; then the tab on this
    // browser's key, opened through the site's link, computes the job.
    const saboteur = await startSaboteur(relay.running.multiaddrs[0]!, {
      wallet: bindWallet(SABOTEUR),
    })
    const first = matmul(3)
    await expect
      .poll(() => saboteur.events.filter((e) => e.type === 'task-finished').length, {
        timeout: 60_000,
        message: 'the saboteur to return a wrong tile',
      })
      .toBeGreaterThan(0)
    let local = await openTab(`site=${SITE}`)
    const firstResult = await first
    expect(firstResult.code, firstResult.stderr).toBe(0)
    await saboteur.stop()
    // One tab at a time, so each surely earns: the local tab leaves (its key stays in its
    // profile) and the injected wallet's tab computes the second job alone.
    const localContext = local.context()
    await local.close()
    const injected = await openTab('wallet=injected', true)
    const second = await matmul(5)
    expect(second.code, second.stderr).toBe(0)
    local = await localContext.newPage()
    await local.goto(`${relay.running.url}/?site=${SITE}`)
    await expect
      .poll(() => local.getByTestId('wallet-address').textContent(), { timeout: 30_000 })
      .toMatch(/^0x[0-9a-fA-F]{40}$/)

    const localAddress = getAddress((await local.getByTestId('wallet-address').textContent())!)
    expect(await injected.getByTestId('wallet-address').textContent()).toBe(INJECTED.address)
    expect(await injected.getByTestId('wallet-source').getAttribute('data-source')).toBe('injected')

    // The ledger: both tabs earned; the site a tenth of what the local tab made through it.
    const [localEarned, injectedEarned, siteEarned, saboteurEarned] = await Promise.all([
      earned(localAddress),
      earned(INJECTED.address),
      earned(SITE),
      earned(SABOTEUR.address),
    ])
    expect(localEarned).toBeGreaterThan(0n)
    expect(injectedEarned).toBeGreaterThan(0n)
    expect(siteEarned).toBe(((localEarned + siteEarned) * SITE_SHARE_BPS) / 10_000n)
    expect(saboteurEarned).toBe(0n)

    // Earned, not yet in a root: pending on the page.
    await expect
      .poll(() => units(local, 'credits-pending'), { timeout: 30_000 })
      .toBe(localEarned.toString())

    const closed = await api<{ epoch: number; closed: boolean; leaves: number }>(
      '/v1/settlement/epochs',
      { method: 'POST' },
    )
    expect(closed).toMatchObject({ epoch: 1, closed: true, leaves: 3 })

    // The published tree is the root on chain, its leaves the ledger's payouts.
    const view = await api<EpochView>('/v1/settlement/epochs/1')
    const tree = StandardMerkleTree.load(view.tree)
    expect(tree.root).toBe(
      await relay.publicClient.readContract({
        address: relay.distributor,
        abi: distributorAbi,
        functionName: 'merkleRoot',
      }),
    )
    expect(
      Object.fromEntries(Array.from(tree.entries(), ([, [a, amount]]) => [a, amount])),
    ).toEqual({
      [localAddress]: localEarned.toString(),
      [INJECTED.address]: injectedEarned.toString(),
      [SITE]: siteEarned.toString(),
    })

    // Each tab claims from the page: the relay pays gas for the local key, the browser
    // wallet sends its own claim.
    for (const [page, amount] of [
      [local, localEarned],
      [injected, injectedEarned],
    ] as const) {
      await expect
        .poll(() => units(page, 'credits-claimable'), {
          timeout: 30_000,
          message: 'the page to show the claimable amount',
        })
        .toBe(amount.toString())
      await page.getByTestId('claim-button').click()
      const status = page.getByTestId('claim-status')
      await expect
        .poll(() => status.getAttribute('data-state'), {
          timeout: 60_000,
          message: 'the claim to be mined',
        })
        .toBe('done')
      await expect.poll(() => units(page, 'credits-claimed')).toBe(amount.toString())
    }
    expect(await tokenBalance(localAddress)).toBe(localEarned)
    expect(await tokenBalance(INJECTED.address)).toBe(injectedEarned)

    // Anyone may claim for the site: the tokens go to the site, exactly its share.
    await api('/v1/settlement/claims', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accounts: [SITE] }),
    })
    expect(await tokenBalance(SITE)).toBe(siteEarned)

    // The saboteur: in no root, nothing to claim, no tokens.
    const saboteurCredits = await api<WalletCredits>(`/v1/settlement/accounts/${SABOTEUR.address}`)
    expect(saboteurCredits).toMatchObject({ claimable: '0', claimed: '0', claim: null })
    expect(await tokenBalance(SABOTEUR.address)).toBe(0n)
    expect(pageErrors).toEqual([])
  }, 240_000)
})
