/**
 * Limits of the relay, sized for a swarm of browser tabs rather than left at libp2p's
 * defaults (which suit a small desktop node: 15 reservations, 5 inbound connections per
 * second from one host).
 */
export interface RelayLimits {
  /**
   * Connections held at once. Each tab holds exactly one to the relay (WebSockets); its
   * WebRTC connections go to other tabs. Headless workers and SDK clients count too.
   * @default 1024
   */
  maxConnections: number
  /**
   * Circuit relay reservations held at once. Every tab reserves a slot so that other tabs
   * can reach it for WebRTC signalling. The relay frees a slot as soon as its peer
   * disconnects (see `reservation-guard.ts`), so live slots never outnumber connections;
   * the margin covers slots whose peer left while its reservation was being made.
   * @default 4 * maxConnections
   */
  maxReservations: number
  /**
   * Reservations held at once by peers from one host (an IPv4 address, an IPv6 /64), so one
   * machine opening connections under fresh peer ids cannot take every slot. Loopback is
   * exempt (a TLS proxy in front of the relay makes every tab loopback). Sized for an office
   * or campus NAT full of tabs.
   * @default 128
   */
  maxReservationsPerHost: number
  /**
   * How long a reservation lives unless refreshed. The client refreshes five minutes before
   * expiry (circuit-relay-v2's transport), so 10 minutes means a refresh every five;
   * under five and a half it would refresh every 30 s, its floor. A slot whose peer vanished
   * without a disconnect the relay noticed comes back within this time.
   * @default 10 min
   */
  reservationTtlMs: number
  /**
   * Lifetime of one relayed connection. A relayed connection only carries the WebRTC
   * handshake (SDP offer and answer, ICE candidates), which completes in seconds even
   * through TURN; the direct connection then replaces it.
   * @default 60_000
   */
  relayedConnectionMs: number
  /**
   * Bytes one relayed connection may carry. Signalling is a few KiB; the cap keeps bulk
   * data off the relay's circuit, where it would cost the operator's bandwidth twice.
   * @default 128 KiB
   */
  relayedConnectionBytes: number
  /**
   * New connections per second accepted from one host. Tabs behind one NAT (an office, a
   * campus) share an address and may reconnect together after the relay restarts.
   * @default 100
   */
  inboundConnectionsPerHostPerSecond: number
  /**
   * Connections still in their handshake (noise, yamux) at once. Bounds the CPU a burst of
   * reconnecting tabs costs while keeping the reconnect storm short.
   * @default 128
   */
  maxPendingInboundConnections: number
  /**
   * Signalling (HOP) streams one connection may have open at once: a tab dialling several
   * peers to build its direct links.
   * @default 16
   */
  maxHopStreamsPerConnection: number
}

export const defaultRelayLimits: Omit<RelayLimits, 'maxReservations'> = {
  maxConnections: 1024,
  maxReservationsPerHost: 128,
  reservationTtlMs: 10 * 60_000,
  relayedConnectionMs: 60_000,
  relayedConnectionBytes: 128 * 1024,
  inboundConnectionsPerHostPerSecond: 100,
  maxPendingInboundConnections: 128,
  maxHopStreamsPerConnection: 16,
}

/**
 * The limits a relay runs with: `overrides` over the defaults, with `maxReservations`
 * following `maxConnections` unless set.
 */
export function resolveRelayLimits(overrides: Partial<RelayLimits> = {}): RelayLimits {
  const merged = { ...defaultRelayLimits, ...overrides }
  return { ...merged, maxReservations: overrides.maxReservations ?? 4 * merged.maxConnections }
}
