import type { RelayReservation } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { networkKey } from '../coordinator/contributors/network-address.ts'
import {
  createReservationGuard,
  type ReservationGuardNode,
  reservationHost,
} from './reservation-guard.ts'

async function peer(): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** A relay node reduced to what the guard touches: connections by peer and the reservation store. */
function fakeNode() {
  const connections = new Map<string, string>()
  const store = new Map<string, { peer: PeerId; reservation: RelayReservation }>()
  const listeners: Array<(event: CustomEvent<PeerId>) => void> = []
  const node: ReservationGuardNode = {
    getConnections: (p?: PeerId) => {
      const addr = p != null ? connections.get(p.toString()) : undefined
      return addr != null ? [{ remoteAddr: multiaddr(addr) } as Connection] : []
    },
    addEventListener: (_type, listener) => listeners.push(listener),
    removeEventListener: () => {},
    services: {
      relay: {
        reservations: {
          get size() {
            return store.size
          },
          get: (p) => store.get(p.toString())?.reservation,
          set: (p, reservation) => {
            store.set(p.toString(), { peer: p, reservation })
          },
          delete: (p) => store.delete(p.toString()),
          *entries() {
            for (const { peer: p, reservation } of store.values()) yield [p, reservation]
          },
        },
      },
    },
  }
  /** What the library does after the gater let a reservation through. */
  const reserve = (p: PeerId) => {
    const { reservations } = node.services.relay
    if (reservations.get(p) == null) {
      reservations.set(p, {
        addr: multiaddr(connections.get(p.toString())!),
        expiry: new Date(Date.now() + 60_000),
        signal: Object.assign(new AbortController().signal, { reset() {}, clear() {} }),
      })
    }
  }
  const connect = (p: PeerId, addr: string) => connections.set(p.toString(), addr)
  const disconnect = (p: PeerId) => {
    connections.delete(p.toString())
    for (const listener of listeners) listener(new CustomEvent('peer:disconnect', { detail: p }))
  }
  return { node, store, reserve, connect, disconnect }
}

describe('relay reservation guard', () => {
  it('groups hosts by IPv4 address and IPv6 /64, and exempts loopback', () => {
    expect(reservationHost(multiaddr('/ip4/203.0.113.7/tcp/1/ws'))).toBe('203.0.113.7')
    expect(reservationHost(multiaddr('/ip6/2001:db8:1:2:aa::1/tcp/1/ws'))).toBe('2001:db8:1:2::/64')
    expect(reservationHost(multiaddr('/ip6/2001:db8:1:2::9/tcp/1/ws'))).toBe('2001:db8:1:2::/64')
    expect(reservationHost(multiaddr('/ip6/::ffff:198.51.100.1/tcp/1/ws'))).toBe('198.51.100.1')
    expect(reservationHost(multiaddr('/ip4/127.0.0.1/tcp/1/ws'))).toBeUndefined()
    expect(reservationHost(multiaddr('/ip6/::1/tcp/1/ws'))).toBeUndefined()
    expect(reservationHost(multiaddr('/ip6/::ffff:127.0.0.1/tcp/1/ws'))).toBeUndefined()
    // The same key the coordinator gives the address (leading zeros of a group dropped).
    expect(reservationHost(multiaddr('/ip6/2001:db8:1:0a::9/tcp/1/ws'))).toBe('2001:db8:1:a::/64')
    expect(reservationHost(multiaddr('/ip6/2001:db8:1:0a::9/tcp/1/ws'))).toBe(
      networkKey('2001:db8:1:a::1'),
    )
  })

  it('caps the reservations of one host, lets them refresh, and frees them on disconnect', async () => {
    const { node, store, reserve, connect, disconnect } = fakeNode()
    const guard = createReservationGuard({ maxReservations: 100, maxPerHost: 2 })
    guard.attach(node)
    const [a, b, c, d] = await Promise.all([peer(), peer(), peer(), peer()])
    for (const p of [a, b, c]) connect(p, '/ip4/203.0.113.7/tcp/1/ws')
    connect(d, '/ip4/198.51.100.1/tcp/1/ws')

    for (const p of [a, b]) {
      expect(guard.denyInboundRelayReservation(p)).toBe(false)
      reserve(p)
    }
    expect(guard.denyInboundRelayReservation(c)).toBe(true)
    expect(guard.denyInboundRelayReservation(a)).toBe(false) // a refresh
    expect(guard.denyInboundRelayReservation(d)).toBe(false) // another host

    disconnect(a)
    expect(store.size).toBe(1)
    expect(guard.parked).toBe(1)
    expect(guard.denyInboundRelayReservation(c)).toBe(false)
  })

  it('puts a returning peer’s parked reservation back instead of making a second one', async () => {
    const { node, reserve, connect, disconnect } = fakeNode()
    const guard = createReservationGuard({ maxReservations: 100, maxPerHost: 10 })
    guard.attach(node)
    const a = await peer()
    connect(a, '/ip4/203.0.113.7/tcp/1/ws')
    reserve(a)
    const first = node.services.relay.reservations.get(a)
    disconnect(a)
    expect(node.services.relay.reservations.get(a)).toBeUndefined()

    connect(a, '/ip4/203.0.113.8/tcp/2/ws')
    expect(guard.denyInboundRelayReservation(a)).toBe(false)
    expect(node.services.relay.reservations.get(a)).toBe(first)
    expect(first?.addr.toString()).toBe('/ip4/203.0.113.8/tcp/2/ws')
    expect(guard.parked).toBe(0)
  })

  it('sweeps reservations of peers that are gone when the store is full', async () => {
    const { node, store, reserve, connect } = fakeNode()
    const guard = createReservationGuard({ maxReservations: 2, maxPerHost: 10 })
    guard.attach(node)
    const [a, b, c] = await Promise.all([peer(), peer(), peer()])
    for (const p of [a, b]) {
      connect(p, '/ip4/203.0.113.7/tcp/1/ws')
      reserve(p)
    }
    // b's disconnect raced its reservation: no event, but no connection either.
    node.getConnections = ((p?: PeerId) =>
      p?.equals(b)
        ? []
        : [{ remoteAddr: multiaddr('/ip4/203.0.113.7/tcp/1/ws') } as Connection]) as never
    connect(c, '/ip4/203.0.113.7/tcp/1/ws')
    expect(guard.denyInboundRelayReservation(c)).toBe(false)
    expect(store.size).toBe(1)
  })
})
