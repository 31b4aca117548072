import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { relayCandidatesOf } from './relay-directory.ts'

const newPeerId = async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const A = await newPeerId()
const B = await newPeerId()

describe('relayCandidatesOf', () => {
  it('reads a relay from before clusters as one candidate', () => {
    const candidates = relayCandidatesOf({
      peerId: A,
      multiaddrs: [`/ip4/127.0.0.1/tcp/1/ws/p2p/${A}`],
    })
    expect(candidates.map((c) => [c.peerId, c.multiaddrs.map(String)])).toEqual([
      [A, [`/ip4/127.0.0.1/tcp/1/ws/p2p/${A}`]],
    ])
  })

  it('keeps the answering relay first, then the others in order, each once', () => {
    const own = { peerId: A, multiaddrs: [`/ip4/127.0.0.1/tcp/1/ws/p2p/${A}`] }
    const other = {
      peerId: B,
      multiaddrs: ['/ip4/127.0.0.2/tcp/2/ws'],
      url: 'http://127.0.0.2:8787',
    }
    const candidates = relayCandidatesOf({ ...own, relays: [own, other, own] })
    expect(candidates.map((c) => c.peerId)).toEqual([A, B])
    // An address without its peer id gets it, so a dial checks whom it reached.
    expect(candidates[1]!.multiaddrs.map(String)).toEqual([`/ip4/127.0.0.2/tcp/2/ws/p2p/${B}`])
    // Its HTTP URL goes with it (where a person knows it); the answering relay gave none.
    expect(candidates.map((c) => c.url)).toEqual([undefined, 'http://127.0.0.2:8787'])
    // Listed twice, the URL of either listing is kept.
    const withUrl = relayCandidatesOf({ ...own, relays: [{ ...own, url: 'https://a.example' }] })
    expect(withUrl.map((c) => [c.peerId, c.url])).toEqual([[A, 'https://a.example']])
  })

  it('drops malformed neighbours and addresses naming another peer, not the answer', () => {
    const candidates = relayCandidatesOf({
      peerId: A,
      multiaddrs: [`/ip4/127.0.0.1/tcp/1/ws/p2p/${A}`],
      relays: [
        { peerId: B, multiaddrs: [`/ip4/127.0.0.2/tcp/2/ws/p2p/${A}`] },
        { peerId: B, multiaddrs: ['not a multiaddr'] },
        { peerId: 7, multiaddrs: [] },
        'nonsense',
      ],
    })
    expect(candidates.map((c) => c.peerId)).toEqual([A])
  })

  it('caps the list, and drops a relay whose peer id is not one', async () => {
    const relays = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => ({
        peerId: await newPeerId(),
        multiaddrs: [`/ip4/10.0.0.${i}/tcp/1/ws`],
      })),
    )
    expect(relayCandidatesOf({ relays })).toHaveLength(16)
    expect(
      relayCandidatesOf({ peerId: 'not-a-peer-id', multiaddrs: ['/ip4/10.0.0.1/tcp/1/ws'] }),
    ).toEqual([])
  })
})
