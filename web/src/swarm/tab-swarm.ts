import type { Connection, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import { sha256Hex } from '@tabswarm/protocol'
import { createBlobCache } from '@tabswarm/sdk/contributor'
import { type BlobFetcher, createBlobFetcher } from '../blobs/blob-fetcher.ts'
import { serveCachedBlobs } from '../blobs/blob-server.ts'
import type { TabIdentity } from '../identity/tab-identity.ts'
import { announceOnReservation } from './announcer.ts'
import { createTabNode, type TabNode } from './create-tab-node.ts'
import { linkDirectPeers } from './direct-peers.ts'
import { keepRelayConnected, type RelayLinkEvent } from './relay-link.ts'
import { createSwarmStats, type SwarmStats } from './swarm-stats.ts'

/** Where the relay is and how tabs should reach each other: the `/v1/swarm` answer. */
export interface SwarmDirectory {
  relayAddrs: Multiaddr[]
  iceServers: RTCIceServer[]
}

export interface JoinSwarmOptions {
  identity: TabIdentity
  /** Looks the relay up (again); called first and after repeated failed dials. */
  lookUp: (signal: AbortSignal) => Promise<SwarmDirectory>
  signal: AbortSignal
  /** Bytes of blobs the tab keeps and serves. @default 128 MiB */
  blobCacheBytes?: number
  /** Direct links the tab opens on its own. @default 8 */
  maxDirectPeers?: number
  onEvent?: (event: RelayLinkEvent) => void
}

/** A tab's membership of the swarm; everything stops when the join signal aborts. */
export interface TabSwarm {
  node: TabNode
  /** The relay's first address with its peer id: where the work protocol goes. */
  relay: Multiaddr
  /** A snapshot of the tab's swarm statistics. */
  stats(): SwarmStats
  /** Fetches a blob by sha-256 from the cache, peers or the relay, verified. */
  fetchBlob: BlobFetcher
  /** Adds bytes to the tab's cache (serving them to peers) and returns their sha-256. */
  putBlob(bytes: Uint8Array): Promise<{ hash: string; size: number; cached: boolean }>
  /**
   * Adds bytes this tab already hashed (its own outputs, or what it verified on a read) to
   * its cache, serving them to peers. Returns whether they were kept.
   */
  keepBlob(hash: string, bytes: Uint8Array): boolean
  /** Whether the tab's in-memory cache holds `hash` now. */
  holdsBlob(hash: string): boolean
  /** Hashes the tab's cache holds and serves, most recently used first, at most `limit`. */
  heldBlobs(limit: number): string[]
  /** Opens (or reuses) a direct WebRTC connection to a peer. */
  connectDirect(peer: PeerId, signal: AbortSignal): Promise<Connection>
  /** Resolves once the node has stopped, after the signal aborted. */
  stopped: Promise<void>
}

/**
 * Joins the swarm: starts the tab's node with its persistent key, keeps it connected to
 * the relay, links directly to the tabs it discovers, and serves and fetches blobs. When
 * the join fails (or the signal aborts during it), whatever it started is stopped and the
 * identity's slot is given back before the error is thrown.
 */
export async function joinSwarm(options: JoinSwarmOptions): Promise<TabSwarm> {
  let node: TabNode | undefined
  try {
    return await join(options, (created) => {
      node = created
    })
  } catch (err) {
    await Promise.resolve(node?.stop()).catch(() => {})
    options.identity.release()
    throw err
  }
}

async function join(
  options: JoinSwarmOptions,
  created: (node: TabNode) => void,
): Promise<TabSwarm> {
  const { signal } = options
  const first = await options.lookUp(signal)
  const relay = first.relayAddrs[0]
  if (relay == null) throw new Error('the relay announced no address')
  let relayTransports = new Set(first.relayAddrs.map((ma) => ma.toString().split('/p2p/')[0]))
  let relayAddrs = first.relayAddrs

  const node = await createTabNode({
    privateKey: options.identity.privateKey,
    iceServers: first.iceServers,
    isRelayTransportAddr: (addr) => relayTransports.has(addr),
  })
  created(node)
  const stats = createSwarmStats(node.peerId.toString())
  const cache = createBlobCache(
    options.blobCacheBytes != null ? { capacityBytes: options.blobCacheBytes } : {},
  )
  const relayPeerOf = (addrs: Multiaddr[]): PeerId | undefined => {
    const id = addrs[0]?.getComponents().findLast((c) => c.name === 'p2p')?.value
    return id != null ? peerIdFromString(id) : undefined
  }
  let relayPeer = relayPeerOf(relayAddrs)

  await serveCachedBlobs({ node, cache, stats })
  // Listening before the node starts: the reservation may come at any time after.
  const announcer = announceOnReservation({ node, pubsub: node.services.pubsub, stats })
  const links = linkDirectPeers({
    node,
    discovery: node.services.discovery,
    stats,
    signal,
    relayPeer: () => relayPeer,
    relayAddr: () => relayAddrs[0],
    announce: announcer.announce,
    ...(options.maxDirectPeers != null ? { maxDirectPeers: options.maxDirectPeers } : {}),
  })
  signal.throwIfAborted()
  await node.start()

  const relayLoop = keepRelayConnected({
    node,
    stats,
    signal,
    initial: relayAddrs,
    lookUp: async (lookUpSignal) => {
      const directory = await options.lookUp(lookUpSignal)
      relayAddrs = directory.relayAddrs
      relayPeer = relayPeerOf(relayAddrs) ?? relayPeer
      relayTransports = new Set(relayAddrs.map((ma) => ma.toString().split('/p2p/')[0]))
      return relayAddrs
    },
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  })

  const stopped = (async () => {
    await relayLoop
    announcer.stop()
    links.stop()
    await node.stop()
    options.identity.release()
  })()

  return {
    node,
    relay,
    stats: () => structuredClone(stats),
    fetchBlob: createBlobFetcher({
      node,
      cache,
      stats,
      relayPeer: () => relayPeer,
      connectDirect: links.connect,
    }),
    async putBlob(bytes) {
      const hash = await sha256Hex(bytes)
      const cached = cache.set(hash, bytes)
      stats.blobs.cached = cache.hashes().length
      stats.blobs.bytesCached = cache.bytesUsed
      return { hash, size: bytes.byteLength, cached }
    },
    keepBlob(hash, bytes) {
      const cached = cache.set(hash, bytes)
      stats.blobs.cached = cache.hashes().length
      stats.blobs.bytesCached = cache.bytesUsed
      return cached
    },
    holdsBlob: (hash) => cache.has(hash),
    heldBlobs: (limit) => cache.recent(limit),
    connectDirect: links.connect,
    stopped,
  }
}
