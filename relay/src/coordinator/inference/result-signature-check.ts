import { peerIdFromString } from '@libp2p/peer-id'
import { resultSigningBytes } from '@tabswarm/protocol'

/** What a contributor sends beside a decoder result: the payload's hash and its signature. */
export interface ResultProof {
  /** sha-256 (hex) of the result payload, as its message header states it (checked there). */
  sha256: string
  /** base64 signature of `resultSigningBytes(taskId, sha256)` by the sender's libp2p key. */
  signature?: string
}

/**
 * Why a decoder result's signature does not attribute it to `peerId`, or undefined when it
 * does: it must be present, decode as base64, and verify under the public key the peer id
 * embeds (Ed25519: every browser and headless contributor's key) over
 * `resultSigningBytes(taskId, sha256)`. Synchronous: Node verifies Ed25519 in place.
 */
export function resultSignatureProblem(
  peerId: string,
  taskId: string,
  proof: ResultProof | undefined,
): string | undefined {
  if (proof?.signature == null)
    return 'decoder results must be signed: sign resultSigningBytes(taskId, sha256) with the peer key'
  let publicKey: ReturnType<typeof peerIdFromString>['publicKey']
  try {
    publicKey = peerIdFromString(peerId).publicKey
  } catch {
    return `peer id ${peerId.slice(0, 64)} does not parse`
  }
  if (publicKey == null)
    return 'the peer id does not embed its public key (use an Ed25519 key) so its signature cannot be checked'
  const signature = Buffer.from(proof.signature, 'base64')
  let valid: boolean | Promise<boolean>
  try {
    valid = publicKey.verify(resultSigningBytes(taskId, proof.sha256), signature)
  } catch {
    valid = false
  }
  if (typeof valid !== 'boolean')
    return `${publicKey.type} keys cannot be checked synchronously here: use an Ed25519 peer key`
  return valid ? undefined : 'the result signature does not verify under the peer id key'
}
