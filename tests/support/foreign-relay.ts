import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'

/**
 * A libp2p node that a contributor dials as its relay but that speaks other protocols
 * than ours: `protocols` (e.g. an older work protocol, `/tabswarm/work/1.0.0`), announced
 * over identify, each answered by closing the stream. What a contributor meets at a relay
 * of another release, or at an address that is no Tabswarm relay.
 */
export async function startForeignRelay(protocols: string[]): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  })
  for (const protocol of protocols)
    await node.handle(protocol, (stream) => {
      stream.abort(new Error(`${protocol} is a stand-in in this test`))
    })
  return node
}
