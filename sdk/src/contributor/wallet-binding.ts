import {
  NO_SITE,
  WALLET_BINDING_MAX_LIFETIME_S,
  type WalletProof,
  walletProofTypedData,
} from '@tabswarm/protocol'
import type { ContributorWallet } from './contributor-loop.ts'

/** What signs a binding: a viem `LocalAccount`, or a wallet client's account. */
export interface BindingSigner {
  address: `0x${string}`
  signTypedData(typedData: ReturnType<typeof walletProofTypedData>): Promise<`0x${string}`>
}

export interface BindWalletOptions {
  /** The embedding site's payout address, credited its share. @default NO_SITE */
  site?: `0x${string}` | undefined
  /** How long each binding holds, in seconds. @default 1 day */
  lifetimeS?: number | undefined
  now?: () => number
}

/** 32 random bytes as `0x` + 64 hex, from the platform's CSPRNG. */
export function randomNonce(): `0x${string}` {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}

/**
 * A {@link ContributorWallet} that signs a fresh binding (new nonce, expiry `lifetimeS`
 * ahead) each time the loop says hello: right for a local key, which signs silently.
 *
 * @example
 * const wallet = bindWallet(privateKeyToAccount(key), { site: '0xSiteAddress…' })
 * await runContributor({ ...options, wallet })
 */
export function bindWallet(
  signer: BindingSigner,
  options: BindWalletOptions = {},
): ContributorWallet {
  const lifetimeS = Math.min(options.lifetimeS ?? 86_400, WALLET_BINDING_MAX_LIFETIME_S)
  const now = options.now ?? Date.now
  return {
    address: signer.address,
    async bind(peerId, signal) {
      signal.throwIfAborted()
      const binding = {
        peerId,
        site: options.site ?? NO_SITE,
        nonce: randomNonce(),
        expiry: Math.floor(now() / 1000) + lifetimeS,
      }
      const signature = await signer.signTypedData(walletProofTypedData(binding))
      return {
        address: signer.address,
        site: binding.site,
        nonce: binding.nonce,
        expiry: binding.expiry,
        signature,
      } satisfies WalletProof
    },
  }
}
