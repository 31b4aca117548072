import type { Libp2p } from '@libp2p/interface'
import { BLOB_PROTOCOL, memoryBlobSource, serveBlobRequest } from '@tabswarm/protocol'
import type { BlobCache } from '@tabswarm/sdk/contributor'
import type { SwarmStats } from '../swarm/swarm-stats.ts'

export interface BlobServerOptions {
  node: Libp2p
  cache: BlobCache
  stats: SwarmStats
  /** Where protocol violations and failed streams are reported. @default console */
  log?: Pick<Console, 'warn'>
  /** Upper bound on serving one request. @default 120_000 */
  requestTimeoutMs?: number
  /** Blob streams one peer may have open at once. @default 4 */
  maxStreamsPerConnection?: number
}

/**
 * Serves the tab's cached blobs to other tabs. Registered without
 * `runOnLimitedConnection`, so libp2p refuses it on relayed connections: bulk data only
 * ever leaves over direct WebRTC.
 */
export async function serveCachedBlobs(options: BlobServerOptions): Promise<() => Promise<void>> {
  const { node, cache, stats } = options
  const log = options.log ?? console
  const source = memoryBlobSource(cache)
  await node.handle(
    BLOB_PROTOCOL,
    async (stream, connection) => {
      const peer = connection.remotePeer.toString()
      try {
        await serveBlobRequest(stream, source, {
          signal: AbortSignal.timeout(options.requestTimeoutMs ?? 120_000),
          onProtocolError: (err) => {
            stats.protocolErrors++
            log.warn(`blob protocol violation from ${peer}: ${err.code}: ${err.message}`)
          },
          onServed: (_hash, bytes) => {
            stats.blobs.served++
            stats.blobs.bytesServed += bytes
          },
        })
      } catch (err) {
        log.warn(`blob stream to ${peer} failed: ${(err as Error).message}`)
      }
    },
    { maxInboundStreams: options.maxStreamsPerConnection ?? 4 },
  )
  return () => node.unhandle(BLOB_PROTOCOL)
}
