import { publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId, PublicKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { ProtocolError } from './protocol-error.ts'
import { createTokenBucketLimiter } from './token-bucket.ts'

/**
 * Checks announcements on the discovery topic before gossipsub delivers or forwards them.
 * `@libp2p/pubsub-peer-discovery` trusts whatever key a message carries: without this, a
 * peer could announce someone else's id (or thousands of made-up ones with junk addresses)
 * and every tab that hears it would dial. Run on the relay (so nothing bad is forwarded)
 * and on every tab (which must not trust the relay either).
 */

export interface DiscoveryValidatorOptions {
  /** Addresses one announcement may carry. @default 16 */
  maxAddrs?: number
  /** Bytes of one address. @default 256 */
  maxAddrBytes?: number
  /** Bytes of one whole announcement. @default 4096 */
  maxBytes?: number
  /** Announcements one author may send back to back. @default 5 */
  burst?: number
  /** One more announcement allowed per this many ms (a tab announces every 10 s). @default 2_000 */
  refillMs?: number
  /**
   * Authors whose rate is tracked at once; past it, those idle long enough to have a full
   * bucket are forgotten first, then the least recently heard. @default 4096
   */
  maxTracked?: number
  /** Clock; injected by tests. @default Date.now */
  now?: () => number
}

/** A decoded announcement: `Peer { bytes publicKey = 1; repeated bytes addrs = 2 }`. */
export interface DiscoveryAnnouncement {
  publicKey: Uint8Array
  addrs: Uint8Array[]
}

/**
 * Decodes the protobuf of `@libp2p/pubsub-peer-discovery` with every length checked before
 * it is used. Unknown fields are refused: the format has exactly two. Throws
 * {@link ProtocolError} naming the problem.
 */
export function decodeAnnouncement(
  data: Uint8Array,
  limits: { maxAddrs: number; maxAddrBytes: number; maxBytes: number },
): DiscoveryAnnouncement {
  if (data.byteLength > limits.maxBytes) {
    throw new ProtocolError(
      'MESSAGE_TOO_LARGE',
      `announcement is ${data.byteLength} bytes, max ${limits.maxBytes}`,
    )
  }
  let offset = 0
  const varint = (): number => {
    let value = 0
    for (let shift = 0; shift < 28; shift += 7) {
      const byte = data[offset++]
      if (byte == null)
        throw new ProtocolError('MALFORMED_FRAME', 'announcement ends inside a varint')
      value |= (byte & 0x7f) << shift
      if ((byte & 0x80) === 0) return value
    }
    throw new ProtocolError('MALFORMED_FRAME', 'announcement has a varint longer than 4 bytes')
  }
  let publicKey: Uint8Array | undefined
  const addrs: Uint8Array[] = []
  while (offset < data.byteLength) {
    const tag = varint()
    const field = tag >>> 3
    if ((tag & 7) !== 2 || (field !== 1 && field !== 2)) {
      throw new ProtocolError(
        'MALFORMED_FRAME',
        `announcement has an unknown field ${field} (wire type ${tag & 7})`,
      )
    }
    const length = varint()
    if (offset + length > data.byteLength) {
      throw new ProtocolError(
        'MALFORMED_FRAME',
        `announcement field ${field} runs past the message end`,
      )
    }
    const bytes = data.subarray(offset, offset + length)
    offset += length
    if (field === 1) {
      if (publicKey != null)
        throw new ProtocolError('MALFORMED_FRAME', 'announcement has two public keys')
      publicKey = bytes
    } else {
      if (addrs.length >= limits.maxAddrs) {
        throw new ProtocolError(
          'MESSAGE_TOO_LARGE',
          `announcement has more than ${limits.maxAddrs} addresses`,
        )
      }
      if (length > limits.maxAddrBytes) {
        throw new ProtocolError(
          'MESSAGE_TOO_LARGE',
          `announced address is ${length} bytes, max ${limits.maxAddrBytes}`,
        )
      }
      addrs.push(bytes)
    }
  }
  if (publicKey == null)
    throw new ProtocolError('MALFORMED_FRAME', 'announcement has no public key')
  return { publicKey, addrs }
}

/** Encodes an announcement the way `@libp2p/pubsub-peer-discovery` does, for announcing at once. */
export function encodeAnnouncement(announcement: DiscoveryAnnouncement): Uint8Array {
  const parts: number[] = []
  const field = (n: number, bytes: Uint8Array) => {
    parts.push((n << 3) | 2)
    for (let length = bytes.byteLength; ; length >>>= 7) {
      if (length < 0x80) {
        parts.push(length)
        break
      }
      parts.push((length & 0x7f) | 0x80)
    }
    for (const byte of bytes) parts.push(byte)
  }
  field(1, announcement.publicKey)
  for (const addr of announcement.addrs) field(2, addr)
  return Uint8Array.from(parts)
}

/**
 * Builds the gossipsub topic validator of the discovery topic. It rejects announcements
 * that are unsigned, malformed, oversized, or whose key is not the key that signed the
 * message (gossipsub has checked that signature against `message.from`), and ignores
 * (neither delivers nor forwards, without penalising the forwarder) an author's
 * announcements beyond its rate.
 *
 * @example
 * node.services.pubsub.topicValidators.set(DISCOVERY_TOPIC, createDiscoveryValidator())
 */
export function createDiscoveryValidator(options: DiscoveryValidatorOptions = {}) {
  const limits = {
    maxAddrs: options.maxAddrs ?? 16,
    maxAddrBytes: options.maxAddrBytes ?? 256,
    maxBytes: options.maxBytes ?? 4096,
  }
  const authors = createTokenBucketLimiter({
    ratePerSecond: 1000 / (options.refillMs ?? 2_000),
    burst: options.burst ?? 5,
    maxKeys: options.maxTracked ?? 4096,
    ...(options.now != null ? { now: options.now } : {}),
  })

  return function validateDiscoveryMessage(
    _propagationSource: PeerId,
    message: Message,
  ): TopicValidatorResult {
    if (message.type !== 'signed') return TopicValidatorResult.Reject
    let key: PublicKey
    try {
      const announcement = decodeAnnouncement(message.data, limits)
      key = publicKeyFromProtobuf(announcement.publicKey)
      for (const addr of announcement.addrs) multiaddr(addr)
    } catch {
      return TopicValidatorResult.Reject
    }
    if (!key.equals(message.key)) return TopicValidatorResult.Reject
    return authors.take(message.from.toString()).ok
      ? TopicValidatorResult.Accept
      : TopicValidatorResult.Ignore
  }
}
