import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { pubsubPeerDiscovery } from '@libp2p/pubsub-peer-discovery'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createDiscoveryValidator, DISCOVERY_TOPIC } from '@tabswarm/protocol'
import { createLibp2p } from 'libp2p'

export interface TabNodeOptions {
  /**
   * Whether `addr` (without its `/p2p/<id>` suffix) is one of the relay's own WebSocket
   * addresses: the only plain-WebSocket addresses the tab will dial. A function, because
   * the relay's addresses are looked up again when it comes back from a restart.
   */
  isRelayTransportAddr: (addr: string) => boolean
  /** The tab's persistent key (see `loadTabIdentity`); a fresh one when absent. */
  privateKey?: PrivateKey
  /** STUN/TURN servers for WebRTC between tabs behind NATs. @default [] */
  iceServers?: RTCIceServer[]
  /** How often the tab re-announces itself on the discovery topic. @default 10_000 */
  announceIntervalMs?: number
}

/**
 * Data channel settings between tabs. `@libp2p/webrtc` sends 16 KiB messages by default
 * (for go- and rust-libp2p peers); tabs only ever link to tabs, and browsers accept
 * 256 KiB messages (Chromium's and Safari's SCTP limit; Firefox's is larger), so a blob
 * costs 16× fewer messages, each framed, copied and dispatched on both ends. The largest
 * message sent is this less 3 bytes: the stream's own overhead estimate is sized for 16 KiB
 * messages, and its length prefix goes in a message of its own.
 */
export const TAB_DATA_CHANNEL = { maxMessageSize: 256 * 1024 } as const

/**
 * The tab's libp2p node: WebSockets to the relay, circuit relay for signalling, direct
 * WebRTC to other tabs, and gossipsub-based discovery through the relay. Created stopped:
 * the caller starts it once its handlers are registered.
 */
export async function createTabNode(options: TabNodeOptions) {
  const node = await createLibp2p({
    start: false,
    ...(options.privateKey ? { privateKey: options.privateKey } : {}),
    addresses: { listen: ['/p2p-circuit', '/webrtc'] },
    transports: [
      webSockets(),
      webRTC({
        rtcConfiguration: { iceServers: options.iceServers ?? [] },
        dataChannel: TAB_DATA_CHANNEL,
      }),
      circuitRelayTransport(),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: {
      // The browser default refuses plain ws:// and private addresses. Our own relay may be
      // exactly that (a local or LAN deployment), so allow it and nothing else of the kind.
      denyDialMultiaddr: (ma: Multiaddr) => {
        const text = ma.toString()
        if (text.includes('/webrtc') || text.includes('/p2p-circuit')) return false
        return !options.isRelayTransportAddr(text.split('/p2p/')[0] ?? text)
      },
    },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        // Every tab from one office shares an address; see the relay's gossipsub options.
        scoreParams: { IPColocationFactorWeight: 0 },
      }),
      discovery: pubsubPeerDiscovery({
        topics: [DISCOVERY_TOPIC],
        interval: options.announceIntervalMs ?? 10_000,
      }),
    },
  })
  // The relay validates announcements too, but a tab trusts no other peer: a forged or
  // junk announcement is dropped before discovery makes this tab dial it.
  node.services.pubsub.topicValidators.set(DISCOVERY_TOPIC, createDiscoveryValidator())
  return node
}

export type TabNode = Awaited<ReturnType<typeof createTabNode>>
