import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { createDiscoveryValidator, DISCOVERY_TOPIC } from '@tabswarm/protocol'
import { createLibp2p } from 'libp2p'
import { type RelayLimits, resolveRelayLimits } from './relay-limits.ts'
import { createReservationGuard } from './reservation-guard.ts'

export interface RelayNodeOptions {
  privateKey: PrivateKey
  /** Multiaddrs to listen on, e.g. `/ip4/127.0.0.1/tcp/8788/ws`. */
  listen: string[]
  /** Public addresses to announce instead of the listen addresses (a domain behind TLS). */
  announce?: string[]
  /** Overrides of the swarm-sized limits; see {@link RelayLimits}. */
  limits?: Partial<RelayLimits>
}

/** Largest yamux receive window of one stream on the relay. */
export const RELAY_STREAM_WINDOW_BYTES = 1024 * 1024

/**
 * The relay's gossipsub mesh degree on the discovery topic. gossipsub's defaults (D 6,
 * Dhi 12) suit a node among equals; the relay is the one peer every tab is connected to, so
 * with them only a dozen tabs would get each announcement first-hand and the rest only
 * through IHAVE gossip a heartbeat or more later. 64 mesh peers get every announcement at
 * once and forward it over their own meshes (tabs subscribe on their WebRTC links too).
 * It stops there because a full mesh costs the relay one copy per tab per announcement:
 * 1,000 tabs announcing every 10 s would be 100,000 messages a second. A tab needs a
 * handful of peers (it opens 8 direct links), not all of them.
 */
export const RELAY_GOSSIP_DEGREE = { D: 32, Dlo: 24, Dhi: 64, Dlazy: 16, Dscore: 16 } as const

/**
 * The swarm's meeting point: a libp2p node that tabs reach over WebSockets, with circuit
 * relay v2 so tabs can signal WebRTC to each other through it, and gossipsub on the
 * discovery topic so tabs announcing themselves there reach each other through the relay.
 */
export async function createRelayNode(options: RelayNodeOptions) {
  const limits = resolveRelayLimits(options.limits)
  const reservations = createReservationGuard({
    maxReservations: limits.maxReservations,
    maxPerHost: limits.maxReservationsPerHost,
  })
  const node = await createLibp2p({
    privateKey: options.privateKey,
    addresses: {
      listen: options.listen,
      ...(options.announce?.length ? { announce: options.announce } : {}),
    },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    // What a peer may send on one stream before the relay reads it. yamux opens the window
    // as data arrives, up to 16 MiB by default, whatever the protocol handler wants; readers
    // pause streams to stop that (frame-reader.ts), and a 1 MiB ceiling bounds what is already
    // in flight when they do. Only uploads to the relay (task results) are paced by it.
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: RELAY_STREAM_WINDOW_BYTES } })],
    connectionManager: {
      maxConnections: limits.maxConnections,
      inboundConnectionThreshold: limits.inboundConnectionsPerHostPerSecond,
      maxIncomingPendingConnections: limits.maxPendingInboundConnections,
    },
    connectionGater: {
      denyInboundRelayReservation: (peer) => reservations.denyInboundRelayReservation(peer),
    },
    services: {
      identify: identify(),
      ping: ping(),
      relay: circuitRelayServer({
        maxInboundHopStreams: limits.maxHopStreamsPerConnection,
        reservations: {
          maxReservations: limits.maxReservations,
          reservationTtl: limits.reservationTtlMs,
          defaultDurationLimit: limits.relayedConnectionMs,
          defaultDataLimit: BigInt(limits.relayedConnectionBytes),
        },
      }),
      pubsub: gossipsub({
        ...RELAY_GOSSIP_DEGREE,
        scoreParams: {
          // Tabs behind one NAT, and every tab in a local test, share an address. Penalising
          // that would cut exactly the tabs of one office off discovery; sybils are dealt
          // with by result verification, not by gossip scores.
          IPColocationFactorWeight: 0,
        },
      }),
    },
  })
  const detach = reservations.attach(node)
  node.addEventListener('stop', detach, { once: true })
  // Nothing malformed, forged or too frequent is forwarded to the tabs.
  node.services.pubsub.topicValidators.set(DISCOVERY_TOPIC, createDiscoveryValidator())
  // Subscribed so that gossipsub keeps a mesh on the topic and forwards announcements
  // between tabs; the relay itself publishes nothing.
  node.services.pubsub.subscribe(DISCOVERY_TOPIC)
  return node
}

export type RelayNode = Awaited<ReturnType<typeof createRelayNode>>
