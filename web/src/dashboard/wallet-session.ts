import type { WalletSessionView } from '@tabswarm/protocol'
import { type WalletSession, type WalletSigner, walletSession } from '@tabswarm/sdk'
import { untilAborted } from '@tabswarm/sdk/contributor'
import {
  connectInjectedWallet,
  type InjectedWallet,
  WALLET_PROMPT_TIMEOUT_MS,
} from '../wallet/injected-wallet.ts'
import { isUserRejection, WalletRefusedError } from '../wallet/wallet-errors.ts'
import type { Credentials } from './credentials.ts'
import { REQUEST_TIMEOUT_MS } from './timeouts.ts'

/** The credentials of a wallet session, as the page keeps them. */
export type WalletCredentials = Extract<Credentials, { kind: 'wallet' }>

/**
 * Signs in with the browser's wallet (EIP-1193, `window.ethereum`) through the SDK's
 * `walletSession`: the wallet signs one request, `POST /v1/sessions` (EIP-712, naming this
 * relay), and the relay answers a bearer token that the following requests carry, so the
 * wallet prompts once, not at every request. The page keeps the token in `sessionStorage`
 * (`saved`, `onCredentials`), so a reload resumes the session without a prompt; the wallet
 * is asked again only when the session must be renewed (near its expiry, or refused).
 * Sign-out is the session's `close()`, which ends it at the relay.
 *
 * `wallet` is the wallet just connected (the sign-in button); without it, a resumed session
 * connects the wallet only when it has to sign.
 */
export function pageWalletSession({
  address,
  wallet,
  saved,
  onCredentials,
}: {
  address: `0x${string}`
  wallet?: InjectedWallet | undefined
  saved?: WalletCredentials | undefined
  /** Told each session opened or renewed, and `undefined` when it ends. */
  onCredentials: (credentials: WalletCredentials | undefined) => void
}): WalletSession {
  return walletSession(injectedSigner(address, wallet), {
    timeoutMs: REQUEST_TIMEOUT_MS,
    ...(saved?.expiresAt != null
      ? { session: { token: saved.token, account: saved.address, expiresAt: saved.expiresAt } }
      : {}),
    onSession: (session) => onCredentials(session && walletCredentials(session)),
  })
}

/** A session as the page keeps it. */
export function walletCredentials(session: WalletSessionView): WalletCredentials {
  return {
    kind: 'wallet',
    token: session.token,
    address: session.account,
    expiresAt: session.expiresAt,
  }
}

/**
 * The browser wallet as the SDK's signer for `address`: `connected` when given, else
 * connected at its first signature. Refuses to sign with another account than the one the
 * page signed in with (the visitor switched accounts in the wallet).
 */
function injectedSigner(address: `0x${string}`, connected?: InjectedWallet): WalletSigner {
  let wallet: Promise<InjectedWallet> | undefined = connected && Promise.resolve(connected)
  return {
    address,
    async signTypedData(typed) {
      wallet ??= connectInjectedWallet(
        globalThis.ethereum,
        AbortSignal.timeout(WALLET_PROMPT_TIMEOUT_MS),
      ).catch((err: unknown) => {
        wallet = undefined
        throw err
      })
      const { address: now, walletClient } = await wallet
      if (now.toLowerCase() !== address.toLowerCase())
        throw new Error(
          `your wallet now uses account ${now}, not ${address} that this page signed in with: sign out, then sign in again`,
        )
      try {
        return await untilAborted(
          walletClient.signTypedData({ account: now, ...typed }),
          AbortSignal.timeout(WALLET_PROMPT_TIMEOUT_MS),
        )
      } catch (err) {
        if (isUserRejection(err)) throw new WalletRefusedError('to sign in to this relay', err)
        throw err
      }
    },
  }
}
