import type { RelayReservation } from '@libp2p/circuit-relay-v2'
import type { Connection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { isLoopbackIp, networkKey } from '../coordinator/contributors/network-address.ts'

/** The parts of the relay's libp2p node the guard works with. */
export interface ReservationGuardNode {
  getConnections(peer?: PeerId): Connection[]
  addEventListener(type: 'peer:disconnect', listener: (event: CustomEvent<PeerId>) => void): void
  removeEventListener(type: 'peer:disconnect', listener: (event: CustomEvent<PeerId>) => void): void
  /** The circuit relay server's reservations, keyed by peer (public on `CircuitRelayService`). */
  services: {
    relay: {
      reservations: {
        readonly size: number
        get(peer: PeerId): RelayReservation | undefined
        set(peer: PeerId, reservation: RelayReservation): void
        delete(peer: PeerId): boolean
        entries(): IterableIterator<[PeerId, RelayReservation]>
      }
    }
  }
}

export interface ReservationGuardOptions {
  /** The relay server's `maxReservations`: when the store is this full, stale entries are swept. */
  maxReservations: number
  /**
   * Reservations held at once by peers connecting from one host (one IPv4 address, one IPv6
   * /64). Loopback is exempt: behind a TLS proxy every tab arrives from 127.0.0.1.
   */
  maxPerHost: number
}

/**
 * Host a connection comes from, as the coordinator keys network addresses (`networkKey`:
 * IPv6 grouped by /64, one subscriber's prefix); none for loopback.
 */
export function reservationHost(addr: Multiaddr): string | undefined {
  const ip = addr.getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6')?.value
  if (ip == null || isLoopbackIp(ip)) return undefined
  return networkKey(ip)
}

/**
 * Keeps circuit relay reservations for peers that are actually there.
 *
 * circuit-relay-v2 (4.2.x) frees a reservation only when its TTL runs out or its
 * confirmation fails: a tab that closes keeps its slot for the whole TTL, so churn (or
 * anyone opening connections under fresh peer ids) fills the store. The relay cannot reach
 * a peer without a connection anyway (it answers `NO_RESERVATION`), so the guard takes the
 * reservation out of the store as soon as its peer disconnects.
 *
 * It parks the entry rather than dropping it: the store's own expiry timer on that entry
 * still runs and would, on firing, delete whatever reservation the peer holds by then.
 * When the peer comes back and reserves again, the parked entry is put back first, so the
 * library refreshes it in place (resetting that same timer) instead of making a second one.
 *
 * Its `denyInboundRelayReservation` goes into the node's connection gater; `attach` wires it
 * to the node once the node exists.
 */
export function createReservationGuard(options: ReservationGuardOptions) {
  let node: ReservationGuardNode | undefined
  // Insertion-ordered: the oldest parked entry is dropped first when the bound is reached.
  const parked = new Map<string, RelayReservation>()
  const maxParked = 4 * options.maxReservations

  const reservations = () => node?.services.relay.reservations

  function park(peer: PeerId, reservation: RelayReservation): void {
    const key = peer.toString()
    reservations()?.delete(peer)
    if (reservation.signal.aborted) return
    parked.delete(key)
    parked.set(key, reservation)
    reservation.signal.addEventListener(
      'abort',
      () => {
        if (parked.get(key) === reservation) parked.delete(key)
      },
      { once: true },
    )
    // Dropping one only risks that peer's next reservation expiring early; it re-reserves.
    for (const oldest of parked.keys()) {
      if (parked.size <= maxParked) break
      parked.delete(oldest)
    }
  }

  const onDisconnect = (event: CustomEvent<PeerId>) => {
    const reservation = reservations()?.get(event.detail)
    if (reservation != null) park(event.detail, reservation)
  }

  /** Parks the reservations of peers no longer connected (a disconnect raced a reserve). */
  function sweep(): void {
    const store = reservations()
    if (store == null || node == null) return
    for (const [peer, reservation] of [...store.entries()]) {
      if (node.getConnections(peer).length === 0) park(peer, reservation)
    }
  }

  return {
    /** Starts watching `relayNode`'s disconnections; returns the function that stops it. */
    attach(relayNode: ReservationGuardNode): () => void {
      node = relayNode
      relayNode.addEventListener('peer:disconnect', onDisconnect)
      return () => {
        relayNode.removeEventListener('peer:disconnect', onDisconnect)
        parked.clear()
        node = undefined
      }
    },

    /** Connection gater hook: true refuses the reservation. */
    denyInboundRelayReservation(peer: PeerId): boolean {
      const store = reservations()
      if (store == null || node == null) return false
      const connection = node.getConnections(peer)[0]
      if (connection == null) return true
      const key = peer.toString()
      const back = parked.get(key)
      if (back != null) {
        parked.delete(key)
        if (!back.signal.aborted && store.get(peer) == null) {
          back.addr = connection.remoteAddr
          store.set(peer, back)
        }
      }
      // A refresh keeps the slot it holds.
      if (store.get(peer) != null) return false
      if (store.size >= options.maxReservations) sweep()
      const host = reservationHost(connection.remoteAddr)
      if (host == null) return false
      let fromHost = 0
      for (const [, reservation] of store.entries()) {
        if (reservationHost(reservation.addr) === host) fromHost++
      }
      return fromHost >= options.maxPerHost
    },

    /** Reservations parked for peers that left, for tests and metrics. */
    get parked(): number {
      return parked.size
    },
  }
}

export type ReservationGuard = ReturnType<typeof createReservationGuard>
