import { peerIdFromString } from '@libp2p/peer-id'
import type { FetchBlobOptions, RelayFallback } from '../blobs/blob-fetcher.ts'
import type { WeightCacheStats } from '../blobs/weight-cache.ts'
import { type ConnectionTransport, connectionTransport, isDirect } from './direct-peers.ts'
import type { SwarmStats } from './swarm-stats.ts'
import type { TabSwarm } from './tab-swarm.ts'

/** One open connection, as the hook reports it. */
export interface ConnectionView {
  /** libp2p's id of the connection: the same id means the same connection. */
  id: string
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
 * a contributor tab, and the blob fetch it may ask for, without scraping its DOM.
 * Everything returns plain data (it crosses Playwright's and postMessage's structured
 * clone). Methods throw until the tab joined.
 */
export interface TabswarmPageHook {
  /** Whether the tab has joined the swarm. */
  readonly joined: boolean
  peerId(): string
  stats(): SwarmStats
  /**
   * The persistent weight cache's figures since the page loaded: hits, misses, bytes, hit
   * rate. A returning tab's weights are hits. Throws until the cache is open.
   */
  weightCache(): WeightCacheStats
  connections(): ConnectionView[]
  /** Fetches and verifies a blob; the bytes stay in the cache, the answer says where they came from. */
  fetchBlob(
    hash: string,
    options?: Omit<FetchBlobOptions, 'signal'>,
  ): Promise<{
    hash: string
    size: number
    source: string
    peerId: string
    elapsedMs: number
    fallback?: RelayFallback
  }>
}

/**
 * Hooks that let a page script plant blobs and send arbitrary bytes to peers: for tests
 * and benchmarks only, present only when the page was opened with `?tabswarm-test`.
 */
export interface TabswarmTestHooks {
  /** Adds bytes to the tab's blob cache, so peers can fetch them; returns their sha-256. */
  putBlob(bytes: Uint8Array): Promise<{ hash: string; size: number; cached: boolean }>
  /**
   * Sends `bytes` as they are (no framing added) on a fresh stream of `protocol` over a
   * direct connection to `peerId`, and returns whatever comes back before the stream
   * closes or `timeoutMs` (default 10 s) runs out. For probing how a peer handles
   * malformed input.
   */
  sendRaw(
    peerId: string,
    protocol: string,
    bytes: Uint8Array,
    options?: { timeoutMs?: number },
  ): Promise<{ response: Uint8Array; error: string | null }>
}

/** The URL parameter that turns the test hooks on. */
export const TEST_HOOKS_PARAM = 'tabswarm-test'

/**
 * Builds the hook over a swarm that may not have been joined yet, with the test hooks when
 * `testHooks` is set.
 */
export function createPageHook(
  current: () => TabSwarm | undefined,
  options: { testHooks?: boolean; weightCache?: () => WeightCacheStats | undefined } = {},
): TabswarmPageHook & Partial<TabswarmTestHooks> {
  const swarm = () => {
    const joined = current()
    if (joined == null) throw new Error('this tab has not joined the swarm (press Start)')
    return joined
  }
  const hook: TabswarmPageHook = {
    get joined() {
      return current() != null
    },
    peerId: () => swarm().node.peerId.toString(),
    stats: () => swarm().stats(),
    weightCache() {
      const stats = options.weightCache?.()
      if (stats == null) throw new Error('the weight cache is not open yet')
      return stats
    },
    connections: () =>
      swarm()
        .node.getConnections()
        .map((c) => ({
          id: c.id,
          peerId: c.remotePeer.toString(),
          remoteAddr: c.remoteAddr.toString(),
          direct: isDirect(c),
          limited: c.limits != null,
          transport: connectionTransport(c),
          direction: c.direction,
        })),
    async fetchBlob(hash, fetchOptions = {}) {
      const { bytes, source, peerId, elapsedMs, fallback } = await swarm().fetchBlob(
        hash,
        fetchOptions,
      )
      return {
        hash,
        size: bytes.byteLength,
        source,
        peerId,
        elapsedMs,
        ...(fallback ? { fallback } : {}),
      }
    },
  }
  if (!options.testHooks) return hook
  const testHooks: TabswarmTestHooks = {
    putBlob: (bytes) => swarm().putBlob(bytes),
    sendRaw: (peerId, protocol, bytes, probe = {}) =>
      sendRaw(swarm(), peerId, protocol, bytes, probe.timeoutMs ?? 10_000),
  }
  return Object.assign(hook, testHooks)
}

async function sendRaw(
  swarm: TabSwarm,
  peerId: string,
  protocol: string,
  bytes: Uint8Array,
  timeoutMs: number,
): Promise<{ response: Uint8Array; error: string | null }> {
  const signal = AbortSignal.timeout(timeoutMs)
  const connection = await swarm.connectDirect(peerIdFromString(peerId), signal)
  const stream = await connection.newStream(protocol, { signal })
  // Reading waits for the next chunk: without this a silent peer would hold it past the timeout.
  const onAbort = () => stream.abort(new Error(`no end of stream within ${timeoutMs} ms`))
  signal.addEventListener('abort', onAbort, { once: true })
  const chunks: Uint8Array[] = []
  let error: string | null = null
  try {
    if (!stream.send(bytes)) await stream.onDrain({ signal })
    for await (const chunk of stream) {
      chunks.push(chunk instanceof Uint8Array ? chunk : chunk.subarray())
    }
  } catch (err) {
    error = (err as Error).message
  } finally {
    signal.removeEventListener('abort', onAbort)
    stream.abort(new Error('probe done'))
  }
  const response = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
  let offset = 0
  for (const c of chunks) {
    response.set(c, offset)
    offset += c.byteLength
  }
  return { response, error }
}
