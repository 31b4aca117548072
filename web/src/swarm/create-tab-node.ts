import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

export interface TabNodeOptions {
  /** The relay this page was served with; the only plain-WebSocket address the tab will dial. */
  relayAddrs: Multiaddr[]
  /** STUN/TURN servers for WebRTC between tabs behind NATs. @default [] */
  iceServers?: RTCIceServer[]
}

/**
 * The tab's libp2p node: WebSockets to the relay, circuit relay for signalling, and direct
 * WebRTC to other tabs.
 */
export async function createTabNode(options: TabNodeOptions) {
  const relayTransports = new Set(options.relayAddrs.map((ma) => ma.toString().split('/p2p/')[0]))
  return createLibp2p({
    addresses: { listen: ['/p2p-circuit', '/webrtc'] },
    transports: [
      webSockets(),
      webRTC({ rtcConfiguration: { iceServers: options.iceServers ?? [] } }),
      circuitRelayTransport(),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: {
      // The browser default refuses plain ws:// and private addresses. Our own relay may be
      // exactly that (a local or LAN deployment), so allow it and nothing else of the kind.
      denyDialMultiaddr: (ma) => {
        const text = ma.toString()
        if (text.includes('/webrtc') || text.includes('/p2p-circuit')) return false
        return !relayTransports.has(text.split('/p2p/')[0])
      },
    },
    services: { identify: identify(), ping: ping() },
  })
}

export type TabNode = Awaited<ReturnType<typeof createTabNode>>
