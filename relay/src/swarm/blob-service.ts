import type { Libp2p } from '@libp2p/interface'
import {
  BLOB_PROTOCOL,
  type BlobReader,
  type BlobSource,
  bytesReader,
  createByteBudget,
  refuseBlobRequest,
  serveBlobRequest,
} from '@tabswarm/protocol'
import type { BlobStore } from '../blobs/blob-store.ts'
import type { JobParts } from '../coordinator/jobs/job-parts.ts'
import type { Logger } from '../log.ts'

export interface BlobServiceOptions {
  node: Libp2p
  /** Where the relay's blobs live; only `open` is used (chunked reads, never a whole file). */
  blobs: Pick<BlobStore, 'open'>
  /**
   * Parts of live jobs that leases name by hash (matmul bands), served from memory before
   * the store is looked at. @default none: the store alone
   */
  parts?: Pick<JobParts, 'get'>
  /** Called with the bytes of each chunk sent, by where the blob came from (egress metrics). */
  onBytesSent?: (source: BlobOrigin, bytes: number) => void
  log: Logger
  /**
   * Upper bound on serving one request. Generous: a tab on a slow link may take a while
   * for the largest blob, and the fetching side has its own idle timeout.
   * @default 300_000
   */
  requestTimeoutMs?: number
  /** Budget for the request itself (a few dozen bytes) to arrive. @default 10_000 */
  requestReadTimeoutMs?: number
  /**
   * Blob streams one connection may have open at once. A tab fetches a task's inputs a
   * few at a time; more than this is a peer trying to pin the relay's upload.
   * @default 8
   */
  maxStreamsPerConnection?: number
  /**
   * Blobs served at once, over all peers: each holds an open file and a chunk in flight,
   * and shares the relay's upload with the others.
   * @default 64
   */
  maxConcurrentServes?: number
  /** How long a request waits for one of those before it is refused as busy. @default 10_000 */
  busyWaitMs?: number
}

/** Where a served blob came from: a part of a live job, or the blob store. */
export type BlobOrigin = 'job-part' | 'blob'

/**
 * The relay's blobs as one source: parts of live jobs first (in memory), then the store
 * (read a chunk at a time), each reader counting what it hands out under its origin.
 */
export function relayBlobSource(
  blobs: Pick<BlobStore, 'open'>,
  parts?: Pick<JobParts, 'get'>,
  onBytesSent?: (source: BlobOrigin, bytes: number) => void,
): BlobSource {
  const counted = (reader: BlobReader, origin: BlobOrigin): BlobReader =>
    onBytesSent == null
      ? reader
      : {
          size: reader.size,
          async read(offset, length) {
            const chunk = await reader.read(offset, length)
            onBytesSent(origin, chunk.byteLength)
            return chunk
          },
          ...(reader.close != null ? { close: () => reader.close?.() } : {}),
        }
  return {
    async open(hash) {
      const part = parts?.get(hash)
      if (part != null) return counted(bytesReader(part), 'job-part')
      const stored = await blobs.open(hash)
      return stored == null ? undefined : counted(stored, 'blob')
    },
  }
}

/**
 * Serves `/tabswarm/blob/1.0.0` from the parts of live jobs and the relay's blob store, so a tab can always fetch any
 * input a lease names from the relay when no peer holding it is reachable. A part is served
 * under the same caps (concurrent serves, per-connection streams, sizes) and deadlines as
 * a stored blob. Direct connections only:
 * libp2p refuses the protocol on relayed (limited) connections.
 */
export async function startBlobService(options: BlobServiceOptions): Promise<() => Promise<void>> {
  const { node, log } = options
  const source = relayBlobSource(options.blobs, options.parts, options.onBytesSent)
  const requestTimeoutMs = options.requestTimeoutMs ?? 300_000
  const busyWaitMs = options.busyWaitMs ?? 10_000
  // A budget of serves, one unit each.
  const serves = createByteBudget(options.maxConcurrentServes ?? 64)
  await node.handle(
    BLOB_PROTOCOL,
    async (stream, connection) => {
      const peer = connection.remotePeer.toString()
      let release: () => void
      try {
        release = await serves.acquire(1, AbortSignal.timeout(busyWaitMs))
      } catch {
        log.warn('blob request refused: busy', { peer, serving: serves.used })
        await refuseBlobRequest(
          stream,
          'BUSY',
          `the relay is serving ${serves.used} blobs; try again later`,
          AbortSignal.timeout(busyWaitMs),
        )
        return
      }
      try {
        await serveBlobRequest(stream, source, {
          signal: AbortSignal.timeout(requestTimeoutMs),
          ...(options.requestReadTimeoutMs != null
            ? { requestTimeoutMs: options.requestReadTimeoutMs }
            : {}),
          onProtocolError: (err) =>
            log.warn('protocol violation', {
              peer,
              protocol: BLOB_PROTOCOL,
              code: err.code,
              error: err.message,
            }),
        })
      } catch (err) {
        log.warn('blob stream failed', { peer, error: String(err) })
      } finally {
        release()
      }
    },
    { maxInboundStreams: options.maxStreamsPerConnection ?? 8 },
  )
  return () => node.unhandle(BLOB_PROTOCOL)
}
