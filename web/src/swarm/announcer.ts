import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import type { SubscriptionChangeData } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { DISCOVERY_TOPIC, encodeAnnouncement } from '@tabswarm/protocol'
import type { SwarmStats } from './swarm-stats.ts'

/** What the announcer needs of the node: its id, its addresses and its events. */
export interface AnnouncerNode {
  peerId: PeerId
  getMultiaddrs(): Multiaddr[]
  addEventListener(type: 'transport:listening' | 'self:peer:update', listener: () => void): void
  removeEventListener(type: 'transport:listening' | 'self:peer:update', listener: () => void): void
}

/** What the announcer needs of pubsub: publishing, and hearing who subscribes. */
export interface AnnouncerPubsub {
  publish(topic: string, data: Uint8Array): Promise<unknown>
  addEventListener(
    type: 'subscription-change',
    listener: (event: CustomEvent<SubscriptionChangeData>) => void,
  ): void
  removeEventListener(
    type: 'subscription-change',
    listener: (event: CustomEvent<SubscriptionChangeData>) => void,
  ): void
}

export interface AnnouncerOptions {
  node: AnnouncerNode
  pubsub: AnnouncerPubsub
  stats: SwarmStats
  /** Clock in milliseconds; injected by tests. @default performance.now */
  now?: () => number
}

/**
 * Announces the tab on the discovery topic the moment its relay reservation gives it a
 * reachable circuit address, rather than at the discovery interval (10 s): the same signed
 * record `@libp2p/pubsub-peer-discovery` publishes, through the public pubsub API.
 *
 * The moment matters: it is most of the time between reaching the relay and the first
 * direct link. libp2p's `self:peer:update` comes a second after the reservation (its
 * address manager debounces it by 1 s); the circuit listener's `transport:listening` comes
 * as the reservation is made, when the circuit address is already listed. Both are
 * listened to (the second covers an address that changes later). When nobody is known on
 * the topic yet (the relay's subscription still on its way), the announcement goes out
 * again as soon as someone subscribes.
 */
export function announceOnReservation(options: AnnouncerOptions): {
  /** Announces now, when the tab has a circuit address; a no-op before. */
  announce(): void
  stop(): void
} {
  const { node, pubsub, stats } = options
  const clock = options.now ?? (() => performance.now())
  let announceWhenSubscribed = false

  const announce = () => {
    const addrs = node.getMultiaddrs()
    const { publicKey } = node.peerId
    if (publicKey == null || !addrs.some((ma) => ma.toString().includes('/p2p-circuit'))) return
    stats.timeline.reservedAtMs ??= clock()
    stats.timeline.announcedAtMs ??= clock()
    const announcement = encodeAnnouncement({
      publicKey: publicKeyToProtobuf(publicKey),
      addrs: addrs.map((ma) => ma.bytes),
    })
    pubsub.publish(DISCOVERY_TOPIC, announcement).then(
      () => {
        announceWhenSubscribed = false
        stats.timeline.announceSentAtMs ??= clock()
      },
      () => {
        // No subscriber yet: announced again once someone subscribes (and periodically).
        announceWhenSubscribed = true
        stats.timeline.announceFailedAtMs ??= clock()
      },
    )
  }
  const onSubscriptionChange = (event: CustomEvent<SubscriptionChangeData>) => {
    if (!announceWhenSubscribed) return
    if (event.detail.subscriptions.some((s) => s.subscribe && s.topic === DISCOVERY_TOPIC)) {
      announceWhenSubscribed = false
      announce()
    }
  }
  node.addEventListener('transport:listening', announce)
  node.addEventListener('self:peer:update', announce)
  pubsub.addEventListener('subscription-change', onSubscriptionChange)
  return {
    announce,
    stop() {
      node.removeEventListener('transport:listening', announce)
      node.removeEventListener('self:peer:update', announce)
      pubsub.removeEventListener('subscription-change', onSubscriptionChange)
    },
  }
}
