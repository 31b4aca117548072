/**
 * The EIP-712 message a contributor signs to prove it holds a wallet: its libp2p peer id
 * and the time of signing. Tabs, the headless worker and the relay build it from here, so
 * all sign and check the same bytes. Browser-safe: plain data, no imports.
 */

/** How old (or how far in the future) a proof may be when the relay checks it. */
export const WALLET_PROOF_MAX_AGE_S = 300

export const WALLET_PROOF_DOMAIN = { name: 'Tabswarm', version: '1' } as const

export const WALLET_PROOF_TYPES = {
  Contributor: [
    { name: 'peerId', type: 'string' },
    { name: 'timestamp', type: 'uint256' },
  ],
} as const

/**
 * The typed data to pass to viem's `signTypedData` (contributor) and `verifyTypedData`
 * (relay, with the claimed `address` and `signature`).
 *
 * @example
 * const signature = await account.signTypedData(walletProofTypedData(peerId, now))
 */
export function walletProofTypedData(peerId: string, timestamp: number) {
  return {
    domain: WALLET_PROOF_DOMAIN,
    types: WALLET_PROOF_TYPES,
    primaryType: 'Contributor' as const,
    message: { peerId, timestamp: BigInt(timestamp) },
  }
}
