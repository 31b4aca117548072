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
   * can reach it for WebRTC signalling, so this matches `maxConnections`.
   * @default 1024
   */
  maxReservations: number
  /**
   * How long a reservation lives before the tab must refresh it (the client refreshes it
   * on its own before expiry). Shorter than libp2p's 2 h so slots of tabs that vanished
   * without closing (a laptop lid shut) come back within the hour.
   * @default 30 min
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

export const defaultRelayLimits: RelayLimits = {
  maxConnections: 1024,
  maxReservations: 1024,
  reservationTtlMs: 30 * 60_000,
  relayedConnectionMs: 60_000,
  relayedConnectionBytes: 128 * 1024,
  inboundConnectionsPerHostPerSecond: 100,
  maxPendingInboundConnections: 128,
  maxHopStreamsPerConnection: 16,
}
