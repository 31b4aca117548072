import { generateKeyPair } from '@libp2p/crypto/keys'
import type { SubscriptionChangeData } from '@libp2p/gossipsub'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { DISCOVERY_TOPIC } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { type AnnouncerPubsub, announceOnReservation } from './announcer.ts'
import { createSwarmStats } from './swarm-stats.ts'

const RELAY = '/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWEsVCxnRbzpEPDULTfnZZtRKR8irYV6hmndKW7mcBrXgZ'

async function setUp(options: { subscribers: boolean }) {
  const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const addrs: Multiaddr[] = [multiaddr('/webrtc')]
  const node = Object.assign(new EventTarget(), { peerId, getMultiaddrs: () => addrs })
  const published: Uint8Array[] = []
  let subscribers = options.subscribers
  const pubsubTarget = new EventTarget()
  const pubsub = Object.assign(pubsubTarget, {
    publish: async (topic: string, data: Uint8Array) => {
      expect(topic).toBe(DISCOVERY_TOPIC)
      if (!subscribers) throw new Error('NoPeersSubscribedToTopic')
      published.push(data)
      return { recipients: [] }
    },
  }) as unknown as AnnouncerPubsub
  const stats = createSwarmStats(peerId.toString())
  const announcer = announceOnReservation({ node, pubsub, stats })
  return {
    announcer,
    stats,
    published,
    reserve: () => addrs.push(multiaddr(`${RELAY}/p2p-circuit`)),
    emit: (type: string) => node.dispatchEvent(new Event(type)),
    subscribe: () => {
      subscribers = true
      pubsubTarget.dispatchEvent(
        new CustomEvent<SubscriptionChangeData>('subscription-change', {
          detail: {
            peerId,
            subscriptions: [{ topic: DISCOVERY_TOPIC, subscribe: true }],
          },
        }),
      )
    },
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('announcing the tab on the discovery topic', () => {
  it('announces as the reservation is made (transport:listening), not at the debounced self:peer:update', async () => {
    const tab = await setUp({ subscribers: true })
    tab.emit('transport:listening')
    await settle()
    expect(tab.published).toHaveLength(0) // no circuit address yet: nothing to announce
    tab.reserve()
    tab.emit('transport:listening')
    await settle()
    expect(tab.published).toHaveLength(1)
    expect(tab.stats.timeline.reservedAtMs).not.toBeNull()
    expect(tab.stats.timeline.announceSentAtMs).not.toBeNull()
    tab.announcer.stop()
    tab.emit('transport:listening')
    tab.emit('self:peer:update')
    await settle()
    expect(tab.published).toHaveLength(1)
  })

  it('announces again as soon as someone subscribes when the first announcement reached nobody', async () => {
    const tab = await setUp({ subscribers: false })
    tab.reserve()
    tab.emit('transport:listening')
    await settle()
    expect(tab.published).toHaveLength(0)
    expect(tab.stats.timeline.announceFailedAtMs).not.toBeNull()
    tab.subscribe()
    await settle()
    expect(tab.published).toHaveLength(1)
    // Once through, later subscriptions do not trigger announcements of their own.
    tab.subscribe()
    await settle()
    expect(tab.published).toHaveLength(1)
    tab.announcer.stop()
  })
})
