import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import {
  createDiscoveryValidator,
  decodeAnnouncement,
  encodeAnnouncement,
} from './discovery-validator.ts'

function varint(value: number): number[] {
  const out: number[] = []
  while (value >= 0x80) {
    out.push((value & 0x7f) | 0x80)
    value >>>= 7
  }
  out.push(value)
  return out
}

/** What `@libp2p/pubsub-peer-discovery` publishes: `Peer { publicKey = 1; repeated addrs = 2 }`. */
function announcement(publicKey: Uint8Array, addrs: Uint8Array[]): Uint8Array {
  const field = (n: number, bytes: Uint8Array) => [
    (n << 3) | 2,
    ...varint(bytes.byteLength),
    ...bytes,
  ]
  return Uint8Array.from([...field(1, publicKey), ...addrs.flatMap((a) => field(2, a))])
}

/** A message as gossipsub hands it to a validator once its signature checked out. */
function signedBy(key: PrivateKey, data: Uint8Array): Message {
  return {
    type: 'signed',
    from: peerIdFromPrivateKey(key),
    key: key.publicKey,
    topic: 'tabswarm/discovery/1.0.0',
    data,
    sequenceNumber: 1n,
    signature: new Uint8Array(64),
  }
}

const circuit = multiaddr('/ip4/127.0.0.1/tcp/9/ws/p2p-circuit/webrtc').bytes

describe('discovery announcement validation', () => {
  it('accepts an announcement of the key that signed it', async () => {
    const key = await generateKeyPair('Ed25519')
    const validate = createDiscoveryValidator()
    const data = announcement(publicKeyToProtobuf(key.publicKey), [circuit])
    expect(validate(peerIdFromPrivateKey(key), signedBy(key, data))).toBe(
      TopicValidatorResult.Accept,
    )
  })

  it('rejects an announcement of somebody else’s key', async () => {
    const [sender, victim] = await Promise.all([
      generateKeyPair('Ed25519'),
      generateKeyPair('Ed25519'),
    ])
    const validate = createDiscoveryValidator()
    const forged = announcement(publicKeyToProtobuf(victim.publicKey), [circuit])
    expect(validate(peerIdFromPrivateKey(sender), signedBy(sender, forged))).toBe(
      TopicValidatorResult.Reject,
    )
  })

  it('rejects unsigned, malformed and oversized announcements', async () => {
    const key = await generateKeyPair('Ed25519')
    const pub = publicKeyToProtobuf(key.publicKey)
    const from = peerIdFromPrivateKey(key)
    const validate = createDiscoveryValidator({ maxAddrs: 2, maxAddrBytes: 64 })
    const unsigned: Message = { type: 'unsigned', topic: 't', data: announcement(pub, []) }
    expect(validate(from, unsigned)).toBe(TopicValidatorResult.Reject)
    for (const data of [
      Uint8Array.from([0x0a, 0x40, 1, 2]), // a key field that runs past the end
      announcement(new Uint8Array(36), []), // not a public key
      announcement(pub, [Uint8Array.from([0xff, 0xff, 0xff])]), // not a multiaddr
      announcement(pub, [circuit, circuit, circuit]), // too many addresses
      announcement(pub, [new Uint8Array(65)]), // an address too long
      Uint8Array.from([...announcement(pub, []), 0x18, 1]), // an unknown varint field
      new Uint8Array(5000), // too large
    ]) {
      expect(validate(from, signedBy(key, data))).toBe(TopicValidatorResult.Reject)
    }
    expect(() =>
      decodeAnnouncement(announcement(pub, [circuit, circuit, circuit]), {
        maxAddrs: 2,
        maxAddrBytes: 64,
        maxBytes: 4096,
      }),
    ).toThrow(/more than 2 addresses/)
  })

  it('ignores an author’s announcements beyond its rate, and lets it announce again later', async () => {
    const key = await generateKeyPair('Ed25519')
    let now = 0
    const validate = createDiscoveryValidator({ burst: 2, refillMs: 1_000, now: () => now })
    const message = signedBy(key, announcement(publicKeyToProtobuf(key.publicKey), [circuit]))
    const from = peerIdFromPrivateKey(key)
    expect([validate(from, message), validate(from, message), validate(from, message)]).toEqual([
      TopicValidatorResult.Accept,
      TopicValidatorResult.Accept,
      TopicValidatorResult.Ignore,
    ])
    now += 1_000
    expect(validate(from, message)).toBe(TopicValidatorResult.Accept)
    expect(validate(from, message)).toBe(TopicValidatorResult.Ignore)
  })

  it('encodes announcements in the format it decodes', async () => {
    const key = await generateKeyPair('Ed25519')
    const publicKey = publicKeyToProtobuf(key.publicKey)
    const long = new Uint8Array(200).fill(4)
    const encoded = encodeAnnouncement({ publicKey, addrs: [circuit, long] })
    expect(encoded).toEqual(announcement(publicKey, [circuit, long]))
    expect(
      decodeAnnouncement(encoded, { maxAddrs: 16, maxAddrBytes: 256, maxBytes: 4096 }),
    ).toEqual({
      publicKey,
      addrs: [circuit, long],
    })
  })
})
