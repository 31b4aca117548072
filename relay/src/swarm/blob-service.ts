import type { Libp2p } from '@libp2p/interface'
import type { BlobStore } from '../blobs/blob-store.ts'
import type { Logger } from '../log.ts'
import { BLOB_PROTOCOL, serveBlobRequest } from '../protocol/index.ts'

export interface BlobServiceOptions {
  node: Libp2p
  /** Where the relay's blobs live; only `get` is used. */
  blobs: Pick<BlobStore, 'get'>
  log: Logger
  /**
   * Upper bound on serving one request. Generous: a tab on a slow link may take a while
   * for the largest blob, and the fetching side has its own idle timeout.
   * @default 300_000
   */
  requestTimeoutMs?: number
  /**
   * Blob streams one connection may have open at once. A tab fetches a task's inputs a
   * few at a time; more than this is a peer trying to pin the relay's upload.
   * @default 8
   */
  maxStreamsPerConnection?: number
}

/**
 * Serves `/tabswarm/blob/1.0.0` from the relay's blob store, so a tab can always fetch a
 * blob from the relay when no peer holding it is reachable. Direct connections only:
 * libp2p refuses the protocol on relayed (limited) connections.
 */
export async function startBlobService(options: BlobServiceOptions): Promise<() => Promise<void>> {
  const { node, blobs, log } = options
  const requestTimeoutMs = options.requestTimeoutMs ?? 300_000
  await node.handle(
    BLOB_PROTOCOL,
    (stream, connection) => {
      const peer = connection.remotePeer.toString()
      serveBlobRequest(
        stream,
        { get: (hash) => blobs.get(hash) },
        {
          signal: AbortSignal.timeout(requestTimeoutMs),
          onProtocolError: (err) =>
            log.warn('protocol violation', {
              peer,
              protocol: BLOB_PROTOCOL,
              code: err.code,
              error: err.message,
            }),
        },
      ).catch((err: unknown) => log.warn('blob stream failed', { peer, error: String(err) }))
    },
    { maxInboundStreams: options.maxStreamsPerConnection ?? 8 },
  )
  return () => node.unhandle(BLOB_PROTOCOL)
}
