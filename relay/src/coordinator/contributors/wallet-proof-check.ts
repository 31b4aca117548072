import {
  WALLET_BINDING_MAX_LIFETIME_S,
  type WalletProof,
  walletProofTypedData,
} from '@tabswarm/protocol'
import { verifyTypedData } from 'viem'

/**
 * Checks a contributor's binding of a wallet to its peer id: an EIP-712 signature by
 * `proof.address` over the peer id, the site, a nonce and an expiry that has not passed and
 * is no further ahead than {@link WALLET_BINDING_MAX_LIFETIME_S}. Returns what is wrong, or
 * undefined when it holds. The peer id stops another peer presenting it; the signed site
 * stops anyone but the wallet's holder choosing where its site share goes.
 */
export async function verifyWalletProof(
  peerId: string,
  proof: WalletProof,
  nowMs: number,
): Promise<string | undefined> {
  const nowS = Math.floor(nowMs / 1000)
  if (proof.expiry <= nowS)
    return `wallet binding expired at ${proof.expiry} (relay clock ${nowS}): sign a new one`
  if (proof.expiry > nowS + WALLET_BINDING_MAX_LIFETIME_S)
    return `wallet binding expiry ${proof.expiry} is more than ${WALLET_BINDING_MAX_LIFETIME_S} s ahead of the relay's clock`
  const valid = await verifyTypedData({
    ...walletProofTypedData({
      peerId,
      site: proof.site as `0x${string}`,
      nonce: proof.nonce as `0x${string}`,
      expiry: proof.expiry,
    }),
    address: proof.address as `0x${string}`,
    signature: proof.signature as `0x${string}`,
  }).catch(() => false)
  return valid
    ? undefined
    : `wallet binding is not a signature by ${proof.address} over this peer id`
}
