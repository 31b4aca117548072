import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { BLOB_PROTOCOL, BlobFetchError, requestBlob } from '@tabswarm/protocol'
import type { BlobCache } from '@tabswarm/sdk/contributor'
import { isDirect, isDirectWebRtc } from '../swarm/direct-peers.ts'
import type { SwarmStats } from '../swarm/swarm-stats.ts'

/** Why the peers asked before the relay could not serve a blob, by peer id. */
export interface RelayFallback {
  /** Peers that could not be reached directly (dial failed, no WebRTC route, stream refused). */
  unreachable: string[]
  /** Peers that answered they do not hold the blob. */
  notHeld: string[]
  /** Peers that were reached but failed otherwise (wrong bytes, stalled, refused). */
  failed: string[]
}

/** Where a blob came from. */
export interface FetchedBlob {
  hash: string
  bytes: Uint8Array
  source: 'cache' | 'peer' | 'relay'
  /** The peer that served it (the relay's id for `relay`, ours for `cache`). */
  peerId: string
  elapsedMs: number
  /** Present when the relay served it after peers were asked: why they did not. */
  fallback?: RelayFallback
}

export interface FetchBlobOptions {
  /** Peers known to hold the blob (peer ids), tried first, in order. @default [] */
  providers?: string[]
  /** Also ask the tabs this one is directly connected to. @default true */
  askConnectedPeers?: boolean
  /** Fall back to the relay's store when no peer serves it. @default true */
  relay?: boolean
  /** Largest blob accepted. @default MAX_BLOB_BYTES */
  maxBytes?: number
  /** Budget of the whole fetch, every attempt included. @default 120_000 */
  timeoutMs?: number
  /**
   * Budget of asking peers, all of them together: when it runs out (dead peers that take
   * their whole dial timeout, slow ones), the relay is asked with what is left, so peers
   * can cost a fallback but never the fetch. @default half of `timeoutMs` when the relay
   * is asked after them, else all of it
   */
  peersTimeoutMs?: number
  signal?: AbortSignal
}

export interface BlobFetcherOptions {
  node: Libp2p
  cache: BlobCache
  stats: SwarmStats
  /** The relay's peer id, once connected. */
  relayPeer: () => PeerId | undefined
  /** Opens (or reuses) a direct connection to a peer; see `linkDirectPeers`. */
  connectDirect: (peer: PeerId, signal: AbortSignal) => Promise<Connection>
  /** Budget of reaching one peer directly before moving on. @default 15_000 */
  peerDialTimeoutMs?: number
  /** A peer that sends nothing for this long mid-transfer is given up on. @default 15_000 */
  peerIdleTimeoutMs?: number
}

/** Fetches blobs by sha-256: from the cache, then peers over direct WebRTC, then the relay. */
export type BlobFetcher = (hash: string, options?: FetchBlobOptions) => Promise<FetchedBlob>

/** The peer answered (it lacks the blob, sent wrong or too many bytes): not the link's fault. */
function isPeerAnswer(err: unknown): boolean {
  const code = (err as BlobFetchError).code
  return code === 'NOT_FOUND' || code === 'HASH_MISMATCH' || code === 'TOO_LARGE'
}

/** What went wrong, readable even when a transport rejected with an event, not an error. */
function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name
  if (typeof Event !== 'undefined' && err instanceof Event) return `${err.type} event`
  return String(err)
}

/**
 * Builds the tab's blob fetch. Every source is untrusted alike: bytes are hashed before
 * they are cached or returned, and a source that sends wrong bytes is skipped and counted.
 */
export function createBlobFetcher(options: BlobFetcherOptions): BlobFetcher {
  const { node, cache, stats } = options
  const peerDialTimeoutMs = options.peerDialTimeoutMs ?? 15_000
  const peerIdleTimeoutMs = options.peerIdleTimeoutMs ?? 15_000

  function fromStream(
    stream: Stream,
    hash: string,
    signal: AbortSignal,
    maxBytes?: number,
    idleTimeoutMs?: number,
  ) {
    return requestBlob(stream, hash, {
      signal,
      ...(maxBytes != null ? { maxBytes } : {}),
      ...(idleTimeoutMs != null ? { idleTimeoutMs } : {}),
    })
  }

  /**
   * Closes a connection that failed a request when the peer has another direct one to try,
   * and says whether it did. A peer with a single connection is not retried: a dead peer
   * costs one attempt, not a dial loop.
   */
  function dropBroken(peer: PeerId, broken: Connection | undefined, err: unknown): boolean {
    if (broken == null) return false
    const others = node.getConnections(peer).filter((c) => c !== broken && isDirectWebRtc(c))
    if (others.length === 0) return false
    stats.peers.brokenLinksClosed++
    broken.abort(new Error(`blob request failed on this connection: ${describe(err)}`))
    return true
  }

  return async function fetchBlob(hash, fetchOptions = {}) {
    const started = performance.now()
    const timeoutMs = fetchOptions.timeoutMs ?? 120_000
    const signal = AbortSignal.any([
      ...(fetchOptions.signal ? [fetchOptions.signal] : []),
      AbortSignal.timeout(timeoutMs),
    ])
    const askRelay = fetchOptions.relay !== false
    const peersTimeoutMs = fetchOptions.peersTimeoutMs ?? (askRelay ? timeoutMs / 2 : timeoutMs)
    /** Peers are asked under this one: when it runs out, the relay gets what is left. */
    const peersSignal = AbortSignal.any([
      signal,
      AbortSignal.timeout(Math.max(1, Math.floor(peersTimeoutMs))),
    ])
    const peersOutOfTime = () => peersSignal.aborted && !signal.aborted
    const cached = cache.get(hash)
    if (cached) {
      return { hash, bytes: cached, source: 'cache', peerId: node.peerId.toString(), elapsedMs: 0 }
    }
    const keep = (bytes: Uint8Array) => {
      cache.set(hash, bytes)
      stats.blobs.cached = cache.hashes().length
      stats.blobs.bytesCached = cache.bytesUsed
    }
    const failures: string[] = []
    const note = (where: string, err: unknown) => {
      if ((err as BlobFetchError).code === 'HASH_MISMATCH') stats.blobs.hashMismatches++
      failures.push(`${where}: ${describe(err)}`)
    }

    const relay = options.relayPeer()
    const tried = new Set<string>()
    const fallback: RelayFallback = { unreachable: [], notHeld: [], failed: [] }
    const providers = (fetchOptions.providers ?? []).map((id) => peerIdFromString(id))
    const connected =
      fetchOptions.askConnectedPeers === false
        ? []
        : node
            .getConnections()
            .filter(isDirectWebRtc)
            .map((c) => c.remotePeer)
    peers: for (const peer of [...providers, ...connected]) {
      const key = peer.toString()
      if (tried.has(key) || peer.equals(node.peerId) || relay?.equals(peer)) continue
      if (peersOutOfTime()) {
        note(key, new Error(`not asked: peers had ${peersTimeoutMs} ms`))
        break
      }
      tried.add(key)
      // A connection can die on one side only (two tabs dialling each other at once can
      // leave one of the pair half open): when it fails, it is closed and the peer's other
      // direct connection, if it has one, gets the request instead. A connection that
      // closed under the request (the peer's tab dropped it, ICE lost it) is redialled
      // once: one more dial per peer and fetch, never a loop.
      let redialled = false
      const redialAfter = (broken: Connection | undefined, err: unknown) => {
        if (redialled || broken == null || broken.status === 'open' || isPeerAnswer(err)) {
          return false
        }
        redialled = true
        stats.peers.redialsAfterClose++
        return true
      }
      for (;;) {
        signal.throwIfAborted()
        let connection: Connection | undefined
        let stream: Stream
        try {
          const dialSignal = AbortSignal.any([peersSignal, AbortSignal.timeout(peerDialTimeoutMs)])
          connection = await options.connectDirect(peer, dialSignal)
          stream = await connection.newStream(BLOB_PROTOCOL, { signal: dialSignal })
        } catch (err) {
          if (signal.aborted) throw err
          if (!peersOutOfTime() && dropBroken(peer, connection, err)) continue
          if (!peersOutOfTime() && redialAfter(connection, err)) continue
          fallback.unreachable.push(key)
          note(key, err)
          if (peersOutOfTime()) break peers
          break
        }
        try {
          const bytes = await fromStream(
            stream,
            hash,
            peersSignal,
            fetchOptions.maxBytes,
            peerIdleTimeoutMs,
          )
          stats.blobs.fromPeers++
          stats.blobs.bytesFromPeers += bytes.byteLength
          keep(bytes)
          return {
            hash,
            bytes,
            source: 'peer',
            peerId: key,
            elapsedMs: performance.now() - started,
          }
        } catch (err) {
          if (signal.aborted) throw err
          if (!peersOutOfTime() && !isPeerAnswer(err) && dropBroken(peer, connection, err)) {
            continue
          }
          if (!peersOutOfTime() && redialAfter(connection, err)) continue
          if ((err as BlobFetchError).code === 'NOT_FOUND') fallback.notHeld.push(key)
          else fallback.failed.push(key)
          note(key, err)
          if (peersOutOfTime()) break peers
          break
        }
      }
    }

    if (askRelay && relay != null) {
      try {
        const connection = node.getConnections(relay).find(isDirect)
        if (connection == null) throw new Error('not connected to the relay')
        const stream = await connection.newStream(BLOB_PROTOCOL, { signal })
        const bytes = await fromStream(stream, hash, signal, fetchOptions.maxBytes)
        stats.blobs.fromRelay++
        stats.blobs.bytesFromRelay += bytes.byteLength
        const askedPeers = tried.size > 0
        if (askedPeers) {
          stats.blobs.relayFallbacks++
          if (fallback.unreachable.length > 0) stats.blobs.fallbacksUnreachable++
          else if (fallback.failed.length === 0) stats.blobs.fallbacksNotHeld++
        }
        keep(bytes)
        return {
          hash,
          bytes,
          source: 'relay',
          peerId: relay.toString(),
          elapsedMs: performance.now() - started,
          ...(askedPeers ? { fallback } : {}),
        }
      } catch (err) {
        if (signal.aborted) throw err
        note('relay', err)
      }
    }
    stats.blobs.failed++
    throw new BlobFetchError(
      'UNAVAILABLE',
      `no source served blob ${hash}${failures.length ? ` (${failures.join('; ')})` : ''}`,
    )
  }
}
