import { WALLET_PROOF_MAX_AGE_S, type WalletProof, walletProofTypedData } from '@tabswarm/protocol'
import { verifyTypedData } from 'viem'

/**
 * Checks a contributor's proof that it holds `proof.address`: an EIP-712 signature over its
 * own peer id and a recent timestamp. Returns what is wrong, or undefined when it holds.
 * Binding the peer id stops a proof being replayed by another peer; the timestamp bounds
 * how long a leaked proof is good for.
 */
export async function verifyWalletProof(
  peerId: string,
  proof: WalletProof,
  nowMs: number,
): Promise<string | undefined> {
  if (Math.abs(nowMs / 1000 - proof.timestamp) > WALLET_PROOF_MAX_AGE_S)
    return `wallet proof timestamp ${proof.timestamp} is more than ${WALLET_PROOF_MAX_AGE_S} s from the relay's clock`
  const valid = await verifyTypedData({
    ...walletProofTypedData(peerId, proof.timestamp),
    address: proof.address as `0x${string}`,
    signature: proof.signature as `0x${string}`,
  }).catch(() => false)
  return valid ? undefined : `wallet proof is not a signature by ${proof.address} over this peer id`
}
