import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'

export interface RelayNodeOptions {
  privateKey: PrivateKey
  /** Multiaddrs to listen on, e.g. `/ip4/127.0.0.1/tcp/8788/ws`. */
  listen: string[]
  /** Public addresses to announce instead of the listen addresses (a domain behind TLS). */
  announce?: string[]
}

/**
 * The swarm's meeting point: a libp2p node that tabs reach over WebSockets, with circuit
 * relay v2 so tabs can signal WebRTC to each other through it.
 */
export async function createRelayNode(options: RelayNodeOptions) {
  return createLibp2p({
    privateKey: options.privateKey,
    addresses: {
      listen: options.listen,
      ...(options.announce?.length ? { announce: options.announce } : {}),
    },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections: 1024,
    },
    services: {
      identify: identify(),
      ping: ping(),
      relay: circuitRelayServer({
        reservations: { maxReservations: 1024 },
      }),
    },
  })
}

export type RelayNode = Awaited<ReturnType<typeof createRelayNode>>
