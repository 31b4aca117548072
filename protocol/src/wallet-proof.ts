/**
 * The EIP-712 binding a contributor signs to prove it holds a wallet: its libp2p peer id,
 * the site whose widget it joined through (the zero address for none), a fresh nonce and an
 * expiry. Tabs, the headless worker and the relay build it from here, so all sign and check
 * the same bytes. Browser-safe: plain data, no imports.
 *
 * The peer id stops another peer presenting the binding (libp2p's Noise handshake proves the
 * peer id); the signed site means nobody but the wallet's holder can point its site share
 * elsewhere; the expiry bounds how long a leaked binding is good for, and the nonce makes
 * every binding distinct, so a wallet can sign a new one (say, for another site) and the
 * relay can tell them apart.
 */

/** Longest a binding may be valid for, from the relay's clock: 7 days. */
export const WALLET_BINDING_MAX_LIFETIME_S = 7 * 24 * 3600

/** The site address of a contributor that joined through no site's widget. */
export const NO_SITE = '0x0000000000000000000000000000000000000000' as const

/** Version 2 binds site, nonce and expiry; a version 1 proof (peer id and timestamp) never verifies. */
export const WALLET_PROOF_DOMAIN = { name: 'Tabswarm', version: '2' } as const

export const WALLET_PROOF_TYPES = {
  Binding: [
    { name: 'peerId', type: 'string' },
    { name: 'site', type: 'address' },
    { name: 'nonce', type: 'bytes32' },
    { name: 'expiry', type: 'uint64' },
  ],
} as const

export interface WalletBinding {
  /** The libp2p peer id the wallet is bound to. */
  peerId: string
  /** The embedding site's payout address, {@link NO_SITE} for none. */
  site: `0x${string}`
  /** 32 random bytes, `0x` + 64 hex. */
  nonce: `0x${string}`
  /** Unix seconds after which the binding no longer holds. */
  expiry: number
}

/**
 * The typed data to pass to viem's `signTypedData` (contributor) and `verifyTypedData`
 * (relay, with the claimed `address` and `signature`).
 *
 * @example
 * const binding = { peerId, site: NO_SITE, nonce: randomNonce(), expiry: now + 86_400 }
 * const signature = await account.signTypedData(walletProofTypedData(binding))
 */
export function walletProofTypedData(binding: WalletBinding) {
  return {
    domain: WALLET_PROOF_DOMAIN,
    types: WALLET_PROOF_TYPES,
    primaryType: 'Binding' as const,
    message: {
      peerId: binding.peerId,
      site: binding.site,
      nonce: binding.nonce,
      expiry: BigInt(binding.expiry),
    },
  }
}
