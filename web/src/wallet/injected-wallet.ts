import type { BindingSigner } from '@tabswarm/sdk/contributor'
import { untilAborted } from '@tabswarm/sdk/contributor'
import {
  type Chain,
  createWalletClient,
  custom,
  type EIP1193Provider,
  type Hex,
  type WalletClient,
} from 'viem'
import { isUserRejection, NoInjectedWalletError, WalletRefusedError } from './wallet-errors.ts'

declare global {
  /** An EIP-1193 wallet the browser injects (MetaMask and others), when there is one. */
  var ethereum: EIP1193Provider | undefined
}

/** The visitor may take a while to answer the wallet's prompt; past this the page stops waiting. */
export const WALLET_PROMPT_TIMEOUT_MS = 5 * 60_000

export interface InjectedWallet {
  address: Hex
  walletClient: WalletClient
  /** Signs bindings with the wallet (the visitor confirms each; `cachedWalletBinding` keeps them). */
  signer: BindingSigner
  provider: EIP1193Provider
}

/**
 * Connects the browser's wallet through viem (`custom(window.ethereum)`): asks for its
 * accounts (the wallet prompts the visitor) and takes the first.
 */
export async function connectInjectedWallet(
  provider: EIP1193Provider | undefined = globalThis.ethereum,
  signal: AbortSignal = AbortSignal.timeout(WALLET_PROMPT_TIMEOUT_MS),
): Promise<InjectedWallet> {
  if (provider == null) throw new NoInjectedWalletError()
  const walletClient = createWalletClient({ transport: custom(provider) })
  let addresses: Hex[]
  try {
    addresses = await untilAborted(walletClient.requestAddresses(), signal)
  } catch (err) {
    if (isUserRejection(err)) throw new WalletRefusedError('to connect', err)
    throw err
  }
  const address = addresses[0]
  if (address == null) throw new WalletRefusedError('to share an account (it returned none)')
  const connected = createWalletClient({ account: address, transport: custom(provider) })
  return {
    address,
    walletClient: connected,
    provider,
    signer: {
      address,
      async signTypedData(typedData) {
        try {
          return await untilAborted(
            connected.signTypedData({ account: address, ...typedData }),
            AbortSignal.timeout(WALLET_PROMPT_TIMEOUT_MS),
          )
        } catch (err) {
          if (isUserRejection(err)) throw new WalletRefusedError('to sign the wallet binding', err)
          throw err
        }
      },
    },
  }
}

/**
 * Puts the wallet on `chain`: switches to it (`wallet_switchEthereumChain`), adding it first
 * (`wallet_addEthereumChain`) when the wallet does not know it (error 4902). Returns a wallet
 * client bound to the chain, for `claimOnChain`.
 */
export async function walletOnChain(
  wallet: InjectedWallet,
  chain: Chain,
  signal: AbortSignal = AbortSignal.timeout(WALLET_PROMPT_TIMEOUT_MS),
): Promise<WalletClient> {
  const client = createWalletClient({
    account: wallet.address,
    chain,
    transport: custom(wallet.provider),
  })
  if ((await untilAborted(client.getChainId(), signal)) === chain.id) return client
  try {
    try {
      await untilAborted(client.switchChain({ id: chain.id }), signal)
    } catch (err) {
      if (!isUnknownChain(err)) throw err
      await untilAborted(client.addChain({ chain }), signal)
      await untilAborted(client.switchChain({ id: chain.id }), signal)
    }
  } catch (err) {
    if (isUserRejection(err))
      throw new WalletRefusedError(`to switch to chain ${chain.id}, where credits settle`, err)
    throw err
  }
  return client
}

/** Error 4902 of `wallet_switchEthereumChain`: the wallet does not know the chain yet. */
function isUnknownChain(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined;
    e != null;
    e = e.cause as typeof e
  )
    if (e.code === 4902 || (e as { name?: unknown }).name === 'SwitchChainError') return true
  return false
}
