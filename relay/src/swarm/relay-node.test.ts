import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { webSockets } from '@libp2p/websockets'
import { DISCOVERY_TOPIC } from '@tabswarm/protocol'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRelayNode, RELAY_GOSSIP_DEGREE, type RelayNode } from './relay-node.ts'

/** A peer that reserves a slot on every relay it connects to, as a tab does. */
function reservingClient() {
  return createLibp2p({
    addresses: { listen: ['/p2p-circuit'] },
    transports: [webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  })
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

describe('the relay node', () => {
  let relay: RelayNode
  let client: Libp2p

  beforeAll(async () => {
    relay = await createRelayNode({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0/ws'],
      limits: { maxConnections: 50 },
    })
    client = await reservingClient()
  })

  afterAll(async () => {
    await client?.stop()
    await relay?.stop()
  })

  it('runs with the swarm-sized limits, not the library defaults', () => {
    // Private fields read back from the running services: proof the options reached them.
    const store = (
      relay.services.relay as unknown as {
        reservationStore: { maxReservations: number; reservationTtl: number }
      }
    ).reservationStore
    expect(store.maxReservations).toBe(200)
    expect(store.reservationTtl).toBe(10 * 60_000)
    const gossip = (relay.services.pubsub as unknown as { opts: Record<string, number> }).opts
    expect(gossip).toMatchObject(RELAY_GOSSIP_DEGREE)
    expect(relay.services.pubsub.topicValidators.has(DISCOVERY_TOPIC)).toBe(true)
    expect(relay.services.pubsub.getTopics()).toEqual([DISCOVERY_TOPIC])
  })

  it('frees a reservation when its peer disconnects, and refreshes the same one when it returns', async () => {
    const reservations = relay.services.relay.reservations
    await client.dial(relay.getMultiaddrs()[0]!)
    await until(() => reservations.has(client.peerId), 'the reservation')
    const first = reservations.get(client.peerId)!

    await client.hangUp(relay.peerId)
    await until(() => !reservations.has(client.peerId), 'the reservation to be freed')

    await client.dial(relay.getMultiaddrs()[0]!)
    await until(() => reservations.has(client.peerId), 'the new reservation')
    // The parked entry came back: its expiry timer is the only one there is for this peer.
    expect(reservations.get(client.peerId)).toBe(first)
    expect(first.signal.aborted).toBe(false)
    expect(reservations.size).toBe(1)
  })
})
