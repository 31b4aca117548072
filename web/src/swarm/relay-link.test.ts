import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { keepRelayConnected, type RelayLinkEvent } from './relay-link.ts'
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
      initial: [relayAddr],
      lookUp: async () => {
        lookUps++
        return [relayAddr]
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
})
