import { peerIdFromString } from '@libp2p/peer-id'
import type { FetchBlobOptions } from '../blobs/blob-fetcher.ts'
import { type ConnectionTransport, connectionTransport, isDirect } from './direct-peers.ts'
import type { SwarmStats } from './swarm-stats.ts'
import type { TabSwarm } from './tab-swarm.ts'

/** One open connection, as the hook reports it. */
export interface ConnectionView {
  peerId: string
  remoteAddr: string
  /** Not relayed and not limited: may carry bulk data. */
  direct: boolean
  /** The relay's limits apply (a relayed signalling connection). */
  limited: boolean
  /** The last transport of the remote address: `webrtc` between tabs, `direct` to the relay. */
  transport: ConnectionTransport
  direction: 'inbound' | 'outbound'
}

/**
 * `window.tabswarm`: what an embedding site, a debugging operator or a test may read from
 * a contributor tab, without scraping its DOM. Everything returns plain data (it crosses
 * Playwright's and postMessage's structured clone). Methods throw until the tab joined.
 */
export interface TabswarmPageHook {
  /** Whether the tab has joined the swarm. */
  readonly joined: boolean
  peerId(): string
  stats(): SwarmStats
  connections(): ConnectionView[]
  /** Adds bytes to the tab's blob cache, so peers can fetch them; returns their sha-256. */
  putBlob(bytes: Uint8Array): Promise<{ hash: string; size: number; cached: boolean }>
  /** Fetches and verifies a blob; the bytes stay in the cache, the answer says where they came from. */
  fetchBlob(
    hash: string,
    options?: Omit<FetchBlobOptions, 'signal'>,
  ): Promise<{ hash: string; size: number; source: string; peerId: string; elapsedMs: number }>
  /**
   * Sends `bytes` as they are (no framing added) on a fresh stream of `protocol` over a
   * direct connection to `peerId`, and returns whatever comes back before the stream
   * closes. For probing how a peer handles malformed input.
   */
  sendRaw(
    peerId: string,
    protocol: string,
    bytes: Uint8Array,
    options?: { timeoutMs?: number },
  ): Promise<{ response: Uint8Array; error: string | null }>
}

/** Builds the hook over a swarm that may not have been joined yet. */
export function createPageHook(current: () => TabSwarm | undefined): TabswarmPageHook {
  const swarm = () => {
    const joined = current()
    if (joined == null) throw new Error('this tab has not joined the swarm (press Start)')
    return joined
  }
  return {
    get joined() {
      return current() != null
    },
    peerId: () => swarm().node.peerId.toString(),
    stats: () => swarm().stats(),
    connections: () =>
      swarm()
        .node.getConnections()
        .map((c) => ({
          peerId: c.remotePeer.toString(),
          remoteAddr: c.remoteAddr.toString(),
          direct: isDirect(c),
          limited: c.limits != null,
          transport: connectionTransport(c),
          direction: c.direction,
        })),
    putBlob: (bytes) => swarm().putBlob(bytes),
    async fetchBlob(hash, options = {}) {
      const { bytes, source, peerId, elapsedMs } = await swarm().fetchBlob(hash, options)
      return { hash, size: bytes.byteLength, source, peerId, elapsedMs }
    },
    async sendRaw(peerId, protocol, bytes, options = {}) {
      const signal = AbortSignal.timeout(options.timeoutMs ?? 10_000)
      const connection = await swarm().connectDirect(peerIdFromString(peerId), signal)
      const stream = await connection.newStream(protocol, { signal })
      const chunks: Uint8Array[] = []
      let error: string | null = null
      try {
        if (!stream.send(bytes)) await stream.onDrain({ signal })
        for await (const chunk of stream) {
          chunks.push(chunk instanceof Uint8Array ? chunk : chunk.subarray())
          if (signal.aborted) break
        }
      } catch (err) {
        error = (err as Error).message
      } finally {
        stream.abort(new Error('probe done'))
      }
      const response = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
      let offset = 0
      for (const c of chunks) {
        response.set(c, offset)
        offset += c.byteLength
      }
      return { response, error }
    },
  }
}
