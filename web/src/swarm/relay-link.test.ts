import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createRelayRoster } from '@tabswarm/sdk/contributor'
import { describe, expect, it } from 'vitest'
import {
  keepRelayConnected,
  type RelayLinkEvent,
  relayAddress,
  relayLocation,
} from './relay-link.ts'
import { createSwarmStats } from './swarm-stats.ts'

const relayAddr = multiaddr(
  '/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWEsVCxnRbzpEPDULTfnZZtRKR8irYV6hmndKW7mcBrXgZ',
)
const relayPeer = {
  toString: () => '12D3KooWEsVCxnRbzpEPDULTfnZZtRKR8irYV6hmndKW7mcBrXgZ',
} as PeerId

/** A node whose dials fail `failures` times, then connect; the test drops the connection. */
function flakyNode(failures: number) {
  let open = false
  let dials = 0
  const listeners: Array<() => void> = []
  const node = {
    dial: async () => {
      dials++
      if (dials <= failures) throw new Error(`refused (${dials})`)
      open = true
      return { remotePeer: relayPeer, remoteAddr: relayAddr } as unknown as Connection
    },
    getConnections: () => (open ? [{}] : []),
    addEventListener: (_: string, listener: () => void) => listeners.push(listener),
    removeEventListener: (_: string, listener: () => void) =>
      listeners.splice(listeners.indexOf(listener), 1),
  }
  return {
    node: node as unknown as Libp2p,
    dials: () => dials,
    drop: () => {
      open = false
      for (const listener of [...listeners]) listener()
    },
  }
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('keeping the tab connected to the relay', () => {
  it('retries with growing delays, looks the relay up again after three misses, and resets once connected', async () => {
    const { node, dials, drop } = flakyNode(4)
    const stats = createSwarmStats('me')
    const events: RelayLinkEvent[] = []
    let lookUps = 0
    const stop = new AbortController()
    const loop = keepRelayConnected({
      node,
      stats,
      signal: stop.signal,
      roster: createRelayRoster([{ peerId: relayPeer.toString(), multiaddrs: [relayAddr] }]),
      lookUp: async () => {
        lookUps++
        return [{ peerId: relayPeer.toString(), multiaddrs: [relayAddr] }]
      },
      backoff: { baseMs: 4, maxMs: 1_000, random: () => 1 },
      onEvent: (event) => events.push(event),
    })
    await until(() => stats.relay.connected)
    // The start-up timeline: first dial before first connection.
    expect(stats.timeline.relayDialAtMs).not.toBeNull()
    expect(stats.timeline.relayConnectedAtMs).toBeGreaterThanOrEqual(stats.timeline.relayDialAtMs!)
    const retries = events.flatMap((e) => (e.type === 'relay-retry' ? [e.retryInMs] : []))
    expect(retries).toEqual([4, 8, 16, 32])
    expect(stats.relay.failedDials).toBe(4)
    // Misses 3 and 4 each asked the directory again.
    expect(lookUps).toBe(2)

    drop()
    await until(() => stats.relay.connects === 2)
    expect(events.map((e) => e.type).slice(-2)).toEqual(['relay-lost', 'relay-connected'])
    expect(dials()).toBe(6)
    stop.abort()
    await loop
  })

  it('moves to the next relay when its own keeps missing, and works there', async () => {
    const other = '12D3KooWRsGnVLSmXqgcqSVPLvmpdzmVoxdgkL6DJ4TGXHAw7fUx'
    const otherAddr = multiaddr(`/ip4/127.0.0.2/tcp/2/ws/p2p/${other}`)
    const up = new Set<string>()
    const dialled: string[] = []
    const listeners: Array<() => void> = []
    let open: string | undefined
    const node = {
      dial: async (addrs: Array<{ toString(): string }>) => {
        const peer = addrs[0]!.toString().split('/p2p/')[1]!
        dialled.push(peer)
        if (!up.has(peer)) throw new Error(`refused by ${peer.slice(-4)}`)
        open = peer
        return {
          remotePeer: { toString: () => peer },
          remoteAddr: addrs[0],
        } as unknown as Connection
      },
      getConnections: () => (open != null ? [{}] : []),
      addEventListener: (_: string, listener: () => void) => listeners.push(listener),
      removeEventListener: (_: string, listener: () => void) =>
        listeners.splice(listeners.indexOf(listener), 1),
    } as unknown as Libp2p
    const roster = createRelayRoster(
      [
        { peerId: relayPeer.toString(), multiaddrs: [relayAddr] },
        { peerId: other, multiaddrs: [otherAddr] },
      ],
      { missesBeforeFailover: 2 },
    )
    up.add(relayPeer.toString())
    up.add(other)
    const stats = createSwarmStats('me')
    const events: RelayLinkEvent[] = []
    const stop = new AbortController()
    const loop = keepRelayConnected({
      node,
      stats,
      signal: stop.signal,
      roster,
      // The page's relay is the one that went away: its directory cannot be had.
      lookUp: async () => {
        throw new Error('directory unreachable')
      },
      backoff: { baseMs: 4, maxMs: 1_000, random: () => 1 },
      onEvent: (event) => events.push(event),
    })
    await until(() => stats.relay.connected)
    expect(roster.current.peerId).toBe(relayPeer.toString())

    // The first relay goes away for good.
    up.delete(relayPeer.toString())
    open = undefined
    for (const listener of [...listeners]) listener()
    await until(() => stats.relay.connects === 2)
    expect(roster.current.peerId).toBe(other)
    expect(dialled).toEqual([
      relayPeer.toString(),
      relayPeer.toString(),
      relayPeer.toString(),
      other,
    ])
    expect(events.map((e) => e.type)).toEqual([
      'relay-connected',
      'relay-lost',
      'relay-retry',
      'relay-failover',
      'relay-retry',
      'relay-connected',
    ])
    // The wait before the new relay is the first step again, not the next one up.
    const retries = events.flatMap((e) => (e.type === 'relay-retry' ? [e.retryInMs] : []))
    expect(retries).toEqual([4, 4])
    // Where it goes, for the page's status line: the new relay's host and port.
    expect(events[3]).toEqual({
      type: 'relay-failover',
      from: relayPeer.toString(),
      to: other,
      toAddress: '127.0.0.2:2',
    })
    stop.abort()
    await loop
  })
})

describe('relayAddress', () => {
  it('names a relay by its host, and its port unless 443 or 80', () => {
    const peer = '12D3KooWEsVCxnRbzpEPDULTfnZZtRKR8irYV6hmndKW7mcBrXgZ'
    expect(relayAddress([multiaddr(`/dns4/swarm-b.example/tcp/443/wss/p2p/${peer}`)])).toBe(
      'swarm-b.example',
    )
    expect(relayAddress([multiaddr(`/ip4/127.0.0.1/tcp/8798/ws/p2p/${peer}`)])).toBe(
      '127.0.0.1:8798',
    )
    expect(relayAddress([multiaddr(`/ip6/::1/tcp/8798/ws/p2p/${peer}`)])).toBe('[::1]:8798')
    expect(relayAddress([multiaddr(`/p2p/${peer}`)])).toBeUndefined()
  })
})

describe('relayLocation', () => {
  it("names a relay by its HTTP URL's host when the directory gave one, else by its libp2p address", () => {
    const peer = '12D3KooWEsVCxnRbzpEPDULTfnZZtRKR8irYV6hmndKW7mcBrXgZ'
    const libp2p = [multiaddr(`/ip4/127.0.0.2/tcp/9091/ws/p2p/${peer}`)]
    expect(relayLocation({ peerId: peer, multiaddrs: libp2p, url: 'http://127.0.0.2:8787' })).toBe(
      '127.0.0.2:8787',
    )
    expect(
      relayLocation({ peerId: peer, multiaddrs: libp2p, url: 'https://swarm-b.example/' }),
    ).toBe('swarm-b.example')
    expect(relayLocation({ peerId: peer, multiaddrs: libp2p })).toBe('127.0.0.2:9091')
  })
})
