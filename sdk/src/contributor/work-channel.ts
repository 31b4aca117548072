import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import {
  type Frame,
  sendWorkRequest,
  WORK_PROTOCOL,
  type WorkRequest,
  type WorkResponse,
} from '@tabswarm/protocol'
import { unsupportedWorkProtocolError } from './unsupported-work-protocol.ts'

/**
 * How a contributor talks to its relay: one request, one response. Over libp2p in tabs and
 * headless workers (`workChannelOver`); tests pass a fake to drive the loop without a relay.
 */
export interface WorkChannel {
  /** Our peer id, as the relay knows us (signed into the wallet proof). */
  readonly peerId: string
  /** The relay's name for events and logs. */
  readonly relay: string
  /**
   * Sends one request and resolves with the relay's validated response. A relay that does
   * not speak this build's work protocol rejects with a `RelayRefusalError`
   * (`WORK_PROTOCOL_UNSUPPORTED`, `permanent` once that is certain).
   */
  exchange(
    request: WorkRequest,
    payload: Uint8Array | undefined,
    signal: AbortSignal,
  ): Promise<Frame<WorkResponse>>
}

/** The protocols the relay announced over identify; none when it is not connected or not known. */
async function announcedProtocols(
  node: Libp2p,
  relay: Multiaddr,
  signal: AbortSignal,
): Promise<string[]> {
  const relayPeer = relay.getComponents().findLast((c) => c.name === 'p2p')?.value
  const connection = node.getConnections().find((c) => c.remotePeer.toString() === relayPeer)
  if (connection == null) return []
  try {
    return (await node.peerStore.get(connection.remotePeer, { signal })).protocols
  } catch {
    // Not identified yet: nothing is known, and the caller says so.
    return []
  }
}

/**
 * The relay to talk to: an address, or a function read at every request, for a contributor
 * that fails over between the relays of a cluster (`RelayRoster.address`).
 */
export type RelayTarget = Multiaddr | (() => Multiaddr)

/** The address a {@link RelayTarget} names now. */
export const relayAddressOf = (relay: RelayTarget): Multiaddr =>
  typeof relay === 'function' ? relay() : relay

/**
 * The work protocol over a libp2p node: a fresh stream to `relay` per request.
 *
 * @example
 * const channel = workChannelOver(node, multiaddr('/ip4/127.0.0.1/tcp/8788/ws/p2p/12D3Koo…'))
 * const { header } = await channel.exchange({ type: 'lease-request' }, undefined, AbortSignal.timeout(30_000))
 */
export function workChannelOver(node: Libp2p, target: RelayTarget): WorkChannel {
  /** Negotiations the relay refused in a row; any other outcome starts the count again. */
  let unsupported = 0
  return {
    peerId: node.peerId.toString(),
    get relay() {
      return relayAddressOf(target).toString()
    },
    async exchange(request, payload, signal) {
      const relay = relayAddressOf(target)
      let stream: Awaited<ReturnType<Libp2p['dialProtocol']>>
      try {
        stream = await node.dialProtocol(relay, WORK_PROTOCOL, { signal })
      } catch (err) {
        // Matched by name: libp2p's error classes may come from another copy of the package.
        if ((err as Error | undefined)?.name !== 'UnsupportedProtocolError') {
          unsupported = 0
          throw err
        }
        unsupported++
        const protocols = await announcedProtocols(node, relay, signal)
        throw unsupportedWorkProtocolError(request.type, protocols, unsupported, err)
      }
      unsupported = 0
      return sendWorkRequest(stream, request, payload, { signal })
    },
  }
}
