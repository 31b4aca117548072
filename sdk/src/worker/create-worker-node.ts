import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'

/**
 * The headless contributor's libp2p node: a dialer only (it listens nowhere), speaking
 * WebSockets + noise + yamux like a tab's connection to the relay. Tabs add WebRTC for
 * peer-to-peer data; a Node worker talks to the relay only.
 *
 * @example
 * const node = await createWorkerNode()
 * await node.dial(relayAddress)
 */
export function createWorkerNode({
  privateKey,
}: {
  privateKey?: PrivateKey
} = {}): Promise<Libp2p> {
  return createLibp2p({
    // A kept key keeps the peer id across runs (worker-peer-key.ts); none: a new one.
    ...(privateKey ? { privateKey } : {}),
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() },
  })
}
