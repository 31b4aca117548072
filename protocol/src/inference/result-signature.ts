/**
 * What a contributor signs for each result of a decoder task, so that a bad stage is
 * attributable: the task and the sha-256 of the result payload, under a domain tag. The
 * signature is the sender's libp2p key's (Ed25519: its peer id embeds the public key), so
 * the relay, and any later stage that received the activations directly, can check who
 * produced those bytes.
 */

const DOMAIN = 'tabswarm/result/v1'

/**
 * The bytes a result's `signature` signs: `tabswarm/result/v1\n<taskId>\n<sha256>`, UTF-8.
 *
 * @example
 * const signature = await privateKey.sign(resultSigningBytes(lease.taskId, sha256))
 */
export function resultSigningBytes(taskId: string, sha256: string): Uint8Array {
  return new TextEncoder().encode(`${DOMAIN}\n${taskId}\n${sha256}`)
}
