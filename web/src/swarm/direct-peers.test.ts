import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, Libp2p, PeerDiscovery, PeerId, PeerInfo } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { linkDirectPeers } from './direct-peers.ts'
import { createSwarmStats } from './swarm-stats.ts'

async function peers(n: number): Promise<PeerId[]> {
  const ids = await Promise.all(
    Array.from({ length: n }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))),
  )
  return ids.sort((a, b) => (a.toString() < b.toString() ? -1 : 1))
}

const relayAddr = multiaddr(
  '/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWEsVCxnRbzpEPDULTfnZZtRKR8irYV6hmndKW7mcBrXgZ',
)

/** A node whose dials wait until the test settles them; connections are WebRTC links. */
function fakeNode(self: PeerId) {
  const connections: Connection[] = []
  const dials: Array<{
    peer: string
    signal: AbortSignal
    succeed: () => void
    fail: (err: Error) => void
  }> = []
  const listeners = new Map<string, Array<() => void>>()
  const node = {
    peerId: self,
    getConnections: (peer?: PeerId) =>
      connections.filter((c) => peer == null || c.remotePeer.equals(peer)),
    dial: (targets: Multiaddr[], { signal }: { signal: AbortSignal }) =>
      new Promise<Connection>((resolve, reject) => {
        const target = targets[0]!.toString()
        const peer = target.split('/p2p/').at(-1)!
        signal.addEventListener('abort', () => reject(signal.reason), { once: true })
        dials.push({
          peer,
          signal,
          succeed: () => {
            const connection = {
              status: 'open',
              limits: undefined,
              remoteAddr: multiaddr(target),
              remotePeer: {
                toString: () => peer,
                equals: (other: PeerId) => other.toString() === peer,
              },
            } as unknown as Connection
            connections.push(connection)
            for (const listener of listeners.get('connection:open') ?? []) listener()
            resolve(connection)
          },
          fail: reject,
        })
      }),
    addEventListener: (type: string, listener: () => void) =>
      listeners.set(type, [...(listeners.get(type) ?? []), listener]),
    removeEventListener: () => {},
  }
  return { node: node as unknown as Libp2p, dials }
}

function fakeDiscovery() {
  const target = new EventTarget()
  return {
    discovery: target as unknown as PeerDiscovery,
    announce: (id: PeerId) =>
      target.dispatchEvent(new CustomEvent<PeerInfo>('peer', { detail: { id, multiaddrs: [] } })),
  }
}

describe('direct links to discovered tabs', () => {
  it('counts dials in progress against the limit', async () => {
    const [self, ...others] = await peers(4)
    const { node, dials } = fakeNode(self!)
    const { discovery, announce } = fakeDiscovery()
    linkDirectPeers({
      node,
      discovery,
      stats: createSwarmStats(self!.toString()),
      signal: new AbortController().signal,
      relayPeer: () => undefined,
      relayAddr: () => relayAddr,
      maxDirectPeers: 2,
    })
    for (const other of others) announce(other)
    for (const other of others) announce(other)
    expect(dials.map((d) => d.peer)).toEqual(others.slice(0, 2).map(String))
  })

  it('shares one dial between callers, and one caller giving up does not end it for the other', async () => {
    const [self, other] = await peers(2)
    const { node, dials } = fakeNode(self!)
    const links = linkDirectPeers({
      node,
      discovery: fakeDiscovery().discovery,
      stats: createSwarmStats(self!.toString()),
      signal: new AbortController().signal,
      relayPeer: () => undefined,
      relayAddr: () => relayAddr,
    })
    const impatient = new AbortController()
    const first = links.connect(other!, impatient.signal)
    const second = links.connect(other!, new AbortController().signal)
    expect(dials).toHaveLength(1)
    impatient.abort(new Error('gave up'))
    await expect(first).rejects.toThrow('gave up')
    expect(dials[0]!.signal.aborted).toBe(false)
    dials[0]!.succeed()
    expect((await second).remotePeer.toString()).toBe(other!.toString())
  })

  it('lets the lower peer id dial first (prompting it), and dials itself only when the lower one did not', async () => {
    const [lower, higher] = await peers(2)
    let now = 0
    let prompts = 0
    const { node, dials } = fakeNode(higher!)
    const { discovery, announce } = fakeDiscovery()
    linkDirectPeers({
      node,
      discovery,
      stats: createSwarmStats(higher!.toString()),
      signal: new AbortController().signal,
      relayPeer: () => undefined,
      relayAddr: () => relayAddr,
      yieldToLowerMs: 15_000,
      announce: () => prompts++,
      now: () => now,
    })
    announce(lower!)
    now += 10_000
    announce(lower!)
    expect(dials).toHaveLength(0)
    // It announced itself once on first hearing, so the lower one hears it and dials.
    expect(prompts).toBe(1)
    now += 6_000
    announce(lower!)
    expect(dials.map((d) => d.peer)).toEqual([lower!.toString()])
  })

  it('forgets peers it has not heard from', async () => {
    const [self, a, b] = await peers(3)
    let now = 0
    const stats = createSwarmStats(self!.toString())
    const { node } = fakeNode(self!)
    const { discovery, announce } = fakeDiscovery()
    linkDirectPeers({
      node,
      discovery,
      stats,
      signal: new AbortController().signal,
      relayPeer: () => undefined,
      relayAddr: () => relayAddr,
      maxDirectPeers: 0,
      forgetAfterMs: 60_000,
      now: () => now,
    })
    announce(a!)
    announce(b!)
    expect(stats.peers.discovered).toBe(2)
    now += 50_000
    announce(b!)
    now += 20_000
    announce(b!)
    expect(stats.peers.discovered).toBe(1)
  })
})
