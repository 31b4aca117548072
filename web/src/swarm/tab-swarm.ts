import type { Connection, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import { type RelayCandidate, sha256Hex } from '@tabswarm/protocol'
import { createBlobCache, createRelayRoster } from '@tabswarm/sdk/contributor'
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
  /** The answering relay's own addresses. */
  relayAddrs: Multiaddr[]
  /**
   * The cluster's relays, the answering one first (`relayCandidatesOf`). @default that
   * relay alone, from `relayAddrs`
   */
  relays?: RelayCandidate[]
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
  /**
   * The first address, with its peer id, of the relay in use: where the work protocol goes.
   * It changes when the relay link fails over to another relay of the cluster.
   */
  readonly relay: Multiaddr
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

/** The relays a directory names; an answer without a list is its relay alone. */
function relaysOf(directory: SwarmDirectory): RelayCandidate[] {
  if (directory.relays != null && directory.relays.length > 0) return directory.relays
  const peerId = directory.relayAddrs[0]?.getComponents().findLast((c) => c.name === 'p2p')?.value
  if (peerId == null) throw new Error('the relay announced no address with its peer id')
  return [{ peerId, multiaddrs: directory.relayAddrs }]
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
  const roster = createRelayRoster(relaysOf(first))
  /** Addresses of any relay of the cluster, without their peer ids. */
  const relayTransports = () =>
    new Set(
      roster.candidates.flatMap((c) => c.multiaddrs.map((ma) => ma.toString().split('/p2p/')[0])),
    )

  const node = await createTabNode({
    privateKey: options.identity.privateKey,
    iceServers: first.iceServers,
    isRelayTransportAddr: (addr) => relayTransports().has(addr),
  })
  created(node)
  const stats = createSwarmStats(node.peerId.toString())
  const cache = createBlobCache(
    options.blobCacheBytes != null ? { capacityBytes: options.blobCacheBytes } : {},
  )
  const relayPeer = () => peerIdFromString(roster.current.peerId)
  const relayAddr = () => roster.current.multiaddrs[0] as Multiaddr

  await serveCachedBlobs({ node, cache, stats })
  // Listening before the node starts: the reservation may come at any time after.
  const announcer = announceOnReservation({ node, pubsub: node.services.pubsub, stats })
  const links = linkDirectPeers({
    node,
    discovery: node.services.discovery,
    stats,
    signal,
    relayPeer,
    relayAddr,
    announce: announcer.announce,
    ...(options.maxDirectPeers != null ? { maxDirectPeers: options.maxDirectPeers } : {}),
  })
  signal.throwIfAborted()
  await node.start()

  const relayLoop = keepRelayConnected({
    node,
    stats,
    signal,
    roster,
    lookUp: async (lookUpSignal) => relaysOf(await options.lookUp(lookUpSignal)),
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
    get relay() {
      return relayAddr()
    },
    stats: () => structuredClone(stats),
    fetchBlob: createBlobFetcher({
      node,
      cache,
      stats,
      relayPeer,
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
