import type { Connection, Libp2p, PeerDiscovery, PeerId, PeerInfo } from '@libp2p/interface'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { untilAborted } from '@tabswarm/sdk/contributor'
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
   * Direct links this tab opens on its own, dials in progress included. Each WebRTC
   * connection costs a peer connection in the browser (ICE, DTLS, SCTP); a few good links
   * are enough for blobs to spread. Peers may still dial this tab beyond it.
   * @default 8
   */
  maxDirectPeers?: number
  /**
   * Budget of one WebRTC dial, ICE included. A dial that misses it is retried on the
   * peer's next announcement.
   * @default 10_000
   */
  dialTimeoutMs?: number
  /**
   * When two tabs hear each other, the one with the lower peer id dials; the other waits
   * this long for it before dialling itself (the lower one may be full, or failing).
   * @default 15_000
   */
  yieldToLowerMs?: number
  /** A peer not heard from for this long, and not linked, is forgotten. @default 60_000 */
  forgetAfterMs?: number
  /** Peers remembered at once; the least recently heard go first. @default 1024 */
  maxKnownPeers?: number
  /**
   * Announces this tab now. Called (at most every 2 s) when it yields to a lower peer id it
   * just heard of, so that peer hears it and dials without waiting for the next periodic
   * announcement.
   */
  announce?: () => void
  /** Clock in milliseconds; injected by tests. @default performance.now */
  now?: () => number
}

/** Least time between announcements made to prompt a lower peer id to dial. */
const ANNOUNCE_EVERY_MS = 2_000

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
  /**
   * Opens (or reuses) a direct connection to `peer`. Callers asking for the same peer at
   * once share one dial; `signal` only stops this caller waiting for it.
   */
  connect(peer: PeerId, signal: AbortSignal): Promise<Connection>
  stop(): void
} {
  const { node, stats, signal } = options
  const maxDirect = options.maxDirectPeers ?? 8
  const dialTimeoutMs = options.dialTimeoutMs ?? 10_000
  const yieldMs = options.yieldToLowerMs ?? 15_000
  const forgetAfterMs = options.forgetAfterMs ?? 60_000
  const maxKnown = options.maxKnownPeers ?? 1024
  const clock = options.now ?? (() => performance.now())
  const self = node.peerId.toString()
  // Peer id -> when first and last heard. Insertion order is recency: re-inserted when heard.
  const heard = new Map<string, { first: number; last: number }>()
  const dialling = new Map<string, Promise<Connection>>()
  let announcedAt = Number.NEGATIVE_INFINITY

  const directPeers = () =>
    new Set(
      node
        .getConnections()
        .filter(isDirectWebRtc)
        .map((c) => c.remotePeer.toString()),
    )

  const hear = (key: string, now: number) => {
    const first = heard.get(key)?.first ?? now
    heard.delete(key)
    heard.set(key, { first, last: now })
  }

  /** Recount the direct links and forget stale peers; returns the linked peer ids. */
  const refresh = (): Set<string> => {
    const now = clock()
    const linked = directPeers()
    // A tab that dialled us is known to us even before we hear its announcement.
    for (const key of linked) hear(key, now)
    for (const [key, { last }] of heard) {
      if (heard.size <= maxKnown && now - last < forgetAfterMs) break
      if (!linked.has(key)) heard.delete(key)
    }
    stats.peers.discovered = heard.size
    stats.peers.direct = linked.size
    if (stats.peers.direct > 0) {
      stats.peers.firstDirectAtMs ??= now
      stats.timeline.firstDirectAtMs ??= now
    }
    return linked
  }

  function connect(peer: PeerId, callerSignal: AbortSignal, announced: Multiaddr[] = []) {
    const existing = node.getConnections(peer).find(isDirect)
    if (existing) return Promise.resolve(existing)
    const key = peer.toString()
    const pending = dialling.get(key)
    if (pending) return untilAborted(pending, callerSignal)
    const relayAddr = options.relayAddr()
    const targets = announced.filter((ma) => {
      const text = ma.toString()
      return (
        text.includes('/p2p-circuit/webrtc') && !text.includes('/p2p-circuit/webrtc/p2p-circuit')
      )
    })
    if (targets.length === 0 && relayAddr != null) targets.push(webRtcAddrVia(relayAddr, peer))
    // The dial lives as long as the swarm and its own budget, never one caller's signal:
    // others may be waiting on it.
    const firstDial = stats.timeline.firstDialAtMs == null
    stats.timeline.firstDialAtMs ??= clock()
    const dial = (async () => {
      if (targets.length === 0) throw new Error(`no WebRTC address known for ${key}`)
      const connection = await node.dial(targets, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(dialTimeoutMs)]),
        ...(firstDial
          ? {
              onProgress: (event: { type: string }) => {
                stats.timeline.firstDialSteps[event.type] ??= clock()
              },
            }
          : {}),
      })
      if (firstDial) stats.timeline.firstDialSteps['dial:done'] = clock()
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
    return untilAborted(dial, callerSignal)
  }

  const onDiscovery = (event: CustomEvent<PeerInfo>) => {
    const { id, multiaddrs } = event.detail
    const key = id.toString()
    if (key === self || options.relayPeer()?.equals(id)) return
    const now = clock()
    stats.timeline.firstHeardAtMs ??= now
    hear(key, now)
    const linked = refresh()
    if (linked.has(key) || dialling.has(key)) return
    if (linked.size + dialling.size >= maxDirect) return
    // Both tabs hear each other within an announcement interval: if both dialled, each
    // would open a WebRTC connection. The lower id dials; the higher one only after the
    // lower has had its chance.
    if (self > key) {
      const first = heard.get(key)?.first ?? now
      if (first === now && options.announce != null && now - announcedAt >= ANNOUNCE_EVERY_MS) {
        announcedAt = now
        options.announce()
      }
      if (now - first < yieldMs) return
    }
    connect(id, signal, multiaddrs).catch(() => {
      // Counted in connect; the peer announces itself again and the next announcement retries.
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
    heard.clear()
  }
  signal.addEventListener('abort', stop, { once: true })
  return { connect: (peer, callerSignal) => connect(peer, callerSignal), stop }
}
