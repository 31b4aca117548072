import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import {
  type Frame,
  sendWorkRequest,
  WORK_PROTOCOL,
  type WorkRequest,
  type WorkResponse,
} from '@tabswarm/relay/protocol'

/**
 * How a contributor talks to its relay: one request, one response. Over libp2p in tabs and
 * headless workers (`workChannelOver`); tests pass a fake to drive the loop without a relay.
 */
export interface WorkChannel {
  /** Our peer id, as the relay knows us (signed into the wallet proof). */
  readonly peerId: string
  /** The relay's name for events and logs. */
  readonly relay: string
  /** Sends one request and resolves with the relay's validated response. */
  exchange(
    request: WorkRequest,
    payload: Uint8Array | undefined,
    signal: AbortSignal,
  ): Promise<Frame<WorkResponse>>
}

/**
 * The work protocol over a libp2p node: a fresh stream to `relay` per request.
 *
 * @example
 * const channel = workChannelOver(node, multiaddr('/ip4/127.0.0.1/tcp/8788/ws/p2p/12D3Koo…'))
 * const { header } = await channel.exchange({ type: 'lease-request' }, undefined, AbortSignal.timeout(30_000))
 */
export function workChannelOver(node: Libp2p, relay: Multiaddr): WorkChannel {
  return {
    peerId: node.peerId.toString(),
    relay: relay.toString(),
    async exchange(request, payload, signal) {
      const stream = await node.dialProtocol(relay, WORK_PROTOCOL, { signal })
      return sendWorkRequest(stream, request, payload, { signal })
    },
  }
}
