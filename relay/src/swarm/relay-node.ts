import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { DISCOVERY_TOPIC } from '../protocol/protocol-ids.ts'
import { defaultRelayLimits, type RelayLimits } from './relay-limits.ts'

export interface RelayNodeOptions {
  privateKey: PrivateKey
  /** Multiaddrs to listen on, e.g. `/ip4/127.0.0.1/tcp/8788/ws`. */
  listen: string[]
  /** Public addresses to announce instead of the listen addresses (a domain behind TLS). */
  announce?: string[]
  /** Overrides of the swarm-sized limits; see {@link RelayLimits}. */
  limits?: Partial<RelayLimits>
}

/**
 * The swarm's meeting point: a libp2p node that tabs reach over WebSockets, with circuit
 * relay v2 so tabs can signal WebRTC to each other through it, and gossipsub on the
 * discovery topic so tabs announcing themselves there reach each other through the relay.
 */
export async function createRelayNode(options: RelayNodeOptions) {
  const limits = { ...defaultRelayLimits, ...options.limits }
  const node = await createLibp2p({
    privateKey: options.privateKey,
    addresses: {
      listen: options.listen,
      ...(options.announce?.length ? { announce: options.announce } : {}),
    },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections: limits.maxConnections,
      inboundConnectionThreshold: limits.inboundConnectionsPerHostPerSecond,
      maxIncomingPendingConnections: limits.maxPendingInboundConnections,
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
        // The relay only forwards announcements between tabs; it publishes nothing itself.
        allowPublishToZeroTopicPeers: true,
        scoreParams: {
          // Tabs behind one NAT, and every tab in a local test, share an address. Penalising
          // that would cut exactly the tabs of one office off discovery; sybils are dealt
          // with by result verification, not by gossip scores.
          IPColocationFactorWeight: 0,
        },
      }),
    },
  })
  // Subscribing puts the relay in every tab's mesh for the topic, so an announcement
  // published by one tab reaches the others even before they know each other.
  node.services.pubsub.subscribe(DISCOVERY_TOPIC)
  return node
}

export type RelayNode = Awaited<ReturnType<typeof createRelayNode>>
