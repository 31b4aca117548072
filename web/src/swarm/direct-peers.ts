import type { Connection, Libp2p, PeerDiscovery, PeerId, PeerInfo } from '@libp2p/interface'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import type { SwarmStats } from './swarm-stats.ts'

/** How a connection reaches its peer, from the last transport in its remote address. */
export type ConnectionTransport = 'webrtc' | 'relayed' | 'direct'

/**
 * `/webrtc` last means WebRTC, even when the address begins with the relay route its
 * handshake was signalled over (the dialling side sees `.../p2p-circuit/webrtc/p2p/<id>`,
 * the answering side `/webrtc/p2p/<id>`); `/p2p-circuit` last means relayed through.
 */
export function connectionTransport(connection: Connection): ConnectionTransport {
  const last = connection.remoteAddr
    .getComponents()
    .map((c) => c.name)
    .findLast((name) => name !== 'p2p' && name !== 'certhash')
  if (last === 'webrtc') return 'webrtc'
  if (last === 'p2p-circuit') return 'relayed'
  return 'direct'
}

/** A connection that may carry bulk data: open, not relayed, not limited in time or bytes. */
export function isDirect(connection: Connection): boolean {
  return (
    connection.status === 'open' &&
    connection.limits == null &&
    connectionTransport(connection) !== 'relayed'
  )
}

/** Whether `connection` is a direct WebRTC link to another tab (not the relay). */
export function isDirectWebRtc(connection: Connection): boolean {
  return isDirect(connection) && connectionTransport(connection) === 'webrtc'
}

export interface DirectPeersOptions {
  node: Libp2p
  /**
   * The discovery service. Listened to directly rather than through the node's
   * `peer:discovery`, which fires only for peers new to the peer store: every
   * announcement is a chance to retry a peer whose last dial failed.
   */
  discovery: PeerDiscovery
  stats: SwarmStats
  signal: AbortSignal
  /** The relay's peer id, once known; it is never dialled over WebRTC. */
  relayPeer: () => PeerId | undefined
  /** The relay address through which a peer's circuit address is built when it announced none. */
  relayAddr: () => Multiaddr | undefined
  /**
   * Direct links this tab opens on its own. Each WebRTC connection costs a peer connection
   * in the browser (ICE, DTLS, SCTP); a few good links are enough for blobs to spread.
   * Peers may still dial this tab beyond it.
   * @default 8
   */
  maxDirectPeers?: number
  /**
   * Budget of one WebRTC dial, ICE included. A dial that misses it is retried on the
   * peer's next announcement.
   * @default 10_000
   */
  dialTimeoutMs?: number
}

/** The address that reaches `peer` over WebRTC, signalled through the relay. */
export function webRtcAddrVia(relayAddr: Multiaddr, peer: PeerId): Multiaddr {
  return multiaddr(`${relayAddr.toString()}/p2p-circuit/webrtc/p2p/${peer.toString()}`)
}

/**
 * Turns discovery into direct links: when a tab hears of another on the discovery topic,
 * it dials the other's `/p2p-circuit/webrtc` address. libp2p signals the WebRTC handshake
 * over a short-lived relayed connection and then talks directly; the relayed connection
 * never carries application data (protocols refuse limited connections by default).
 */
export function linkDirectPeers(options: DirectPeersOptions): {
  /** Opens (or reuses) a direct connection to `peer`. */
  connect(peer: PeerId, signal: AbortSignal): Promise<Connection>
  stop(): void
} {
  const { node, stats, signal } = options
  const maxDirect = options.maxDirectPeers ?? 8
  const dialTimeoutMs = options.dialTimeoutMs ?? 10_000
  const heard = new Set<string>()
  const dialling = new Map<string, Promise<Connection>>()

  const directCount = () =>
    new Set(
      node
        .getConnections()
        .filter(isDirectWebRtc)
        .map((c) => c.remotePeer.toString()),
    ).size

  const refresh = () => {
    // A tab that dialled us is known to us even before we hear its announcement.
    for (const c of node.getConnections().filter(isDirectWebRtc)) heard.add(c.remotePeer.toString())
    stats.peers.discovered = heard.size
    stats.peers.direct = directCount()
    if (stats.peers.direct > 0) stats.peers.firstDirectAtMs ??= performance.now()
  }

  function connect(peer: PeerId, dialSignal: AbortSignal, announced: Multiaddr[] = []) {
    const existing = node.getConnections(peer).find(isDirect)
    if (existing) return Promise.resolve(existing)
    const key = peer.toString()
    const pending = dialling.get(key)
    if (pending) return pending
    const relayAddr = options.relayAddr()
    const targets = announced.filter((ma) => {
      const text = ma.toString()
      return (
        text.includes('/p2p-circuit/webrtc') && !text.includes('/p2p-circuit/webrtc/p2p-circuit')
      )
    })
    if (targets.length === 0 && relayAddr != null) targets.push(webRtcAddrVia(relayAddr, peer))
    const dial = (async () => {
      if (targets.length === 0) throw new Error(`no WebRTC address known for ${key}`)
      const connection = await node.dial(targets, {
        signal: AbortSignal.any([signal, dialSignal, AbortSignal.timeout(dialTimeoutMs)]),
      })
      if (!isDirect(connection)) {
        throw new Error(`the connection to ${key} is relayed, not direct`)
      }
      refresh()
      return connection
    })()
    dialling.set(key, dial)
    dial
      .catch((err: unknown) => {
        if (signal.aborted) return
        stats.peers.failedDials++
        stats.peers.lastDialError = `${key}: ${(err as Error).message}`
      })
      .finally(() => dialling.delete(key))
    return dial
  }

  const onDiscovery = (event: CustomEvent<PeerInfo>) => {
    const { id, multiaddrs } = event.detail
    const key = id.toString()
    if (id.equals(node.peerId) || options.relayPeer()?.equals(id)) return
    if (!heard.has(key)) {
      heard.add(key)
      stats.peers.discovered = heard.size
    }
    if (directCount() >= maxDirect) return
    connect(id, signal, multiaddrs).catch(() => {
      // Counted above; the peer announces itself again and the next announcement retries.
    })
  }
  const onConnectionChange = () => refresh()

  options.discovery.addEventListener('peer', onDiscovery)
  node.addEventListener('connection:open', onConnectionChange)
  node.addEventListener('connection:close', onConnectionChange)
  const stop = () => {
    options.discovery.removeEventListener('peer', onDiscovery)
    node.removeEventListener('connection:open', onConnectionChange)
    node.removeEventListener('connection:close', onConnectionChange)
  }
  signal.addEventListener('abort', stop, { once: true })
  return { connect: (peer, dialSignal) => connect(peer, dialSignal), stop }
}
