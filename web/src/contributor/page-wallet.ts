import {
  ApiRequestError,
  type ClaimStage,
  claimOnChain,
  claimThroughRelay,
  formatAmount,
  type Settlement,
  settlementChain,
  type TabswarmClient,
  type WalletCredits,
} from '@tabswarm/sdk'
import { bindWallet, type ContributorWallet, delay } from '@tabswarm/sdk/contributor'
import { createPublicClient, type Hex, http } from 'viem'
import { cachedWalletBinding } from '../wallet/binding-cache.ts'
import {
  connectInjectedWallet,
  type InjectedWallet,
  walletOnChain,
} from '../wallet/injected-wallet.ts'
import type { KeyValueStore } from '../wallet/key-value-store.ts'
import { exportLocalKey, importLocalKey, loadOrCreateLocalKey } from '../wallet/local-key.ts'
import type { WalletPanel, WalletSource } from './wallet-panel.ts'

/** How often the figures are read from the relay while the page is open. */
export const FIGURES_REFRESH_MS = 5_000
/** Longest wait for the browser's storage to hand over (or create) the local key. */
const LOCAL_KEY_TIMEOUT_MS = 10_000

export interface PageWalletOptions {
  panel: WalletPanel
  store: KeyValueStore
  client: TabswarmClient
  /**
   * Whether the relay settles on chain (`relaySettlesOnChain`): asked once before any
   * settlement call; a relay that does not is never asked for figures.
   */
  relaySettles: (signal: AbortSignal) => Promise<boolean>
  /** The site this page was opened for (`?site=`), credited its share. */
  site: Hex | undefined
  /** Connect the browser's wallet at once (`?wallet=injected`) rather than on the button. */
  injected: boolean
  /** Logs a line in the page's log. */
  log: (line: string) => void
  /** Whether the contributor loop is running: a new wallet then applies from the next hello. */
  contributing: () => boolean
  signal: AbortSignal
}

export interface PageWallet {
  /**
   * The wallet for the contributor loop, once there is one (undefined when none could be
   * set up: the tab is then credited to its peer id). It follows the page's current wallet:
   * a switch applies from the loop's next hello.
   */
  contributorWallet(): Promise<ContributorWallet | undefined>
  /** Reads the figures now (after an accepted task), besides the periodic refresh. */
  refresh(): void
}

interface Current {
  address: Hex
  source: WalletSource
  binding: ContributorWallet
  injected?: InjectedWallet
}

/**
 * The page's wallet: this browser's own key by default (created on the first visit, in
 * IndexedDB, shared by the profile's tabs), or the visitor's browser wallet; the three
 * figures refreshed every few seconds; Claim (the browser wallet sends it and pays gas, or
 * the relay does for the local key, which holds no ETH); export and import of the local key.
 */
export function startPageWallet(options: PageWalletOptions): PageWallet {
  const { panel, store, client, site, log, signal } = options
  let current: Current | undefined
  let settlement: Settlement | undefined
  /** Whether the relay settles on chain: unknown until it has answered once. */
  let settles: boolean | undefined
  let credits: WalletCredits | undefined
  let claiming = false
  /** Ends the wait between two reads of the figures. */
  let wake: (() => void) | undefined
  /** A read was asked for during the one in flight. */
  let again = false
  const refresh = () => {
    again = true
    wake?.()
  }

  const use = (next: Current) => {
    const changed = current != null && current.address !== next.address
    current = next
    credits = undefined
    panel.wallet(next.address, next.source)
    panel.error(undefined)
    if (changed && options.contributing())
      log(`now crediting ${next.address}; it takes effect when the tab next connects to the relay`)
    refresh()
  }

  const useLocal = async () => {
    const account = await loadOrCreateLocalKey(store)
    use({ address: account.address, source: 'local', binding: bindWallet(account, { site }) })
  }

  const useInjected = async () => {
    panel.error(undefined)
    panel.claim('working', 'waiting for your browser wallet to connect (approve it in the wallet)')
    try {
      const injected = await connectInjectedWallet(globalThis.ethereum)
      use({
        address: injected.address,
        source: 'injected',
        binding: cachedWalletBinding(injected.signer, { store, site }),
        injected,
      })
      panel.claim('idle', '')
    } catch (err) {
      panel.claim('idle', '')
      panel.error((err as Error).message)
    }
  }

  const ready = (async () => {
    try {
      await Promise.race([
        useLocal(),
        delay(LOCAL_KEY_TIMEOUT_MS, signal).then(() => {
          throw new Error(
            `the browser's storage did not answer within ${LOCAL_KEY_TIMEOUT_MS / 1000} s`,
          )
        }),
      ])
    } catch (err) {
      panel.noWallet(
        `this browser's key could not be loaded (${(err as Error).message}); import a key or use a browser wallet`,
      )
    }
    if (options.injected) await useInjected()
  })()

  /** The loop's wallet: whichever the page uses when the loop says hello. */
  const following: ContributorWallet = {
    get address() {
      return current!.address
    },
    bind: (peerId, bindSignal) => current!.binding.bind(peerId, bindSignal),
  }

  // Buttons.
  panel.useInjectedButton.addEventListener('click', () => void useInjected())
  panel.useLocalButton.addEventListener('click', () => {
    useLocal().catch((err: unknown) => panel.error((err as Error).message))
  })
  panel.exportButton.addEventListener('click', async () => {
    try {
      panel.exportPanel(await exportLocalKey(store))
    } catch (err) {
      panel.error((err as Error).message)
    }
  })
  panel.downloadButton.addEventListener('click', () => {
    if (current != null) panel.downloadKey(current.address)
  })
  panel.hideExportButton.addEventListener('click', () => panel.exportPanel(undefined))
  panel.copyButton.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(panel.exportedKey())
      log('wallet key copied to the clipboard')
    } catch (err) {
      panel.error(`could not copy (${(err as Error).message}): select the key and copy it by hand`)
    }
  })
  panel.importForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    try {
      const account = await importLocalKey(store, panel.importedKeyText())
      panel.clearImport()
      panel.exportPanel(undefined)
      use({ address: account.address, source: 'local', binding: bindWallet(account, { site }) })
      log(`imported the key of ${account.address}; other open tabs use it once reloaded`)
    } catch (err) {
      panel.error((err as Error).message)
    }
  })
  panel.claimButton.addEventListener('click', () => void claim())

  // The figures, every few seconds and on demand: a refresh asked for while a read is in
  // flight runs right after it, not at the next period.
  void (async () => {
    await ready
    while (!signal.aborted) {
      again = false
      await readFigures()
      if (settles === false) return
      if (again) continue
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FIGURES_REFRESH_MS)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      wake = undefined
    }
  })()

  async function readFigures(): Promise<void> {
    const wallet = current
    if (wallet == null) return
    try {
      settles ??= await options.relaySettles(signal)
      if (!settles) {
        panel.figuresUnavailable(
          'this relay does not settle credits on a chain; your verified work is still credited',
        )
        return
      }
      settlement ??= await client.settlement({ signal })
      const read = await client.walletCredits(wallet.address, { signal })
      if (current !== wallet) return
      credits = read
      panel.figures(read, settlement, claiming)
    } catch (err) {
      if (signal.aborted) return
      panel.figuresUnavailable(
        err instanceof ApiRequestError && err.status === 404
          ? 'this relay does not settle credits on a chain yet; your verified work is still credited'
          : `could not read your credits (${(err as Error).message}); retrying`,
      )
    }
  }

  async function claim(): Promise<void> {
    const wallet = current
    if (wallet == null || settlement == null || credits == null || claiming) return
    claiming = true
    panel.claimButton.disabled = true
    panel.error(undefined)
    const before = credits
    const amount = (units: bigint) => formatAmount(units, settlement!.token)
    try {
      const rpcUrl = settlement.rpcUrl
      const chain = rpcUrl != null ? settlementChain(settlement) : undefined
      const publicClient = chain && createPublicClient({ chain, transport: http() })
      let result: { txHash: Hex; paid: bigint; claimed: bigint }
      if (wallet.injected != null) {
        if (chain == null || publicClient == null)
          throw new Error(
            'the relay publishes no RPC URL for its chain, so this page cannot send the claim from your wallet: use this browser’s key, or ask the operator to publish one',
          )
        panel.claim('working', `waiting for your wallet to switch to chain ${chain.id}`)
        const walletClient = await walletOnChain(wallet.injected, chain)
        const say: Record<ClaimStage, string> = {
          checking: 'checking the claim against the chain',
          signing: `waiting for you to confirm the claim of ${amount(before.claimable)} in your wallet (it pays the gas)`,
          confirming: 'waiting for the transaction’s receipt',
        }
        result = await claimOnChain({
          walletClient,
          publicClient,
          credits: await client.walletCredits(wallet.address, { signal }),
          distributor: settlement.distributor,
          signal,
          onStage: (stage, { txHash }) =>
            panel.claim('working', txHash ? `${say[stage]} (${txHash})` : say[stage], txHash),
        })
      } else {
        panel.claim(
          'working',
          `asking the relay to claim ${amount(before.claimable)} for you (it pays the gas)`,
        )
        result = await claimThroughRelay({
          client,
          settlement,
          credits: before,
          publicClient,
          signal,
          onSent: (txHash) =>
            panel.claim('working', `waiting for the receipt of ${txHash}`, txHash),
        })
      }
      // The receipt's figure at once; the relay's next answer confirms it.
      credits = {
        ...before,
        claimed: result.claimed,
        claimable: before.claimable > result.paid ? before.claimable - result.paid : 0n,
      }
      if (current === wallet) panel.figures(credits, settlement, true)
      panel.claim(
        'done',
        `claimed ${amount(result.paid)} in transaction ${result.txHash}; ${amount(result.claimed)} claimed in all`,
        result.txHash,
      )
      log(`claimed ${amount(result.paid)} (tx ${result.txHash})`)
    } catch (err) {
      panel.claim('error', `claim failed: ${(err as Error).message.split('\n')[0]}`)
    } finally {
      claiming = false
      refresh()
    }
  }

  return {
    async contributorWallet() {
      await ready
      return current != null ? following : undefined
    },
    refresh,
  }
}
