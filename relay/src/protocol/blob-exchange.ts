import type { Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { BlobFetchError } from './blob-fetch-error.ts'
import {
  type BlobRequest,
  BlobRequestSchema,
  type BlobResponse,
  BlobResponseSchema,
  DEFAULT_BLOB_CHUNK_BYTES,
  MAX_BLOB_BYTES,
  MAX_BLOB_CHUNK_BYTES,
  MAX_BLOB_HEADER_BYTES,
} from './blob-messages.ts'
import { decodeFrame, encodeFrame } from './frame.ts'
import { lengthError } from './frame-reader.ts'
import { MAX_TEXT } from './limits.ts'
import { ProtocolError } from './protocol-error.ts'
import { sha256Hex } from './sha256.ts'

/**
 * Both ends of one blob exchange: `get <sha-256>` answered by a `blob` header and the
 * bytes in chunk frames. The receiver checks every length before allocating, assembles
 * into one buffer of the announced size, and hashes the whole blob before handing it out:
 * a peer can waste a stream, never plant wrong bytes.
 */

/** Where a server finds the blobs it may serve: the relay's store, a tab's cache. */
export interface BlobSource {
  get(hash: string): Uint8Array | undefined | Promise<Uint8Array | undefined>
}

export interface RequestBlobOptions {
  signal: AbortSignal
  /** Refuse a blob announced larger than this. @default MAX_BLOB_BYTES (256 MiB) */
  maxBytes?: number
  /** Fail when no frame arrives for this long; large blobs are fine as long as they move. @default 15_000 */
  idleTimeoutMs?: number
  /** Called after each chunk with the bytes received so far and the total. */
  onProgress?: (received: number, total: number) => void
}

/** Options for serving one request. */
export interface ServeBlobOptions {
  signal: AbortSignal
  /** Bytes per chunk frame, at most MAX_BLOB_CHUNK_BYTES. @default 256 KiB */
  chunkBytes?: number
  /** Called when the request breaks the protocol; the stream is answered and closed. */
  onProtocolError?: (err: ProtocolError) => void
  /** Called after a blob was sent in full. */
  onServed?: (hash: string, bytes: number) => void
}

const DEFAULT_IDLE_TIMEOUT_MS = 15_000

/**
 * Asks the remote end of `stream` for the blob `hash` and returns its verified bytes.
 * Throws {@link BlobFetchError} (not found, too large, truncated, wrong hash, timeout) or
 * {@link ProtocolError} (a malformed answer); the stream is closed either way.
 */
export async function requestBlob(
  stream: Stream,
  hash: string,
  options: RequestBlobOptions,
): Promise<Uint8Array> {
  const request: BlobRequest = BlobRequestSchema.parse({ type: 'get', hash })
  const maxBytes = Math.min(options.maxBytes ?? MAX_BLOB_BYTES, MAX_BLOB_BYTES)
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
  stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, 4 * MAX_BLOB_CHUNK_BYTES)
  const lp = lpStream(stream, {
    maxDataLength: MAX_BLOB_CHUNK_BYTES,
    maxBufferSize: 4 * MAX_BLOB_CHUNK_BYTES,
  })
  const read = async () => {
    const signal = AbortSignal.any([options.signal, AbortSignal.timeout(idleMs)])
    try {
      return (await lp.read({ signal })).subarray()
    } catch (err) {
      if (options.signal.aborted) throw err
      if (signal.aborted) {
        throw new BlobFetchError('TIMEOUT', `no data for ${idleMs} ms while fetching ${hash}`)
      }
      const mapped = lengthError(err, MAX_BLOB_CHUNK_BYTES)
      if (mapped !== err) throw mapped
      throw new BlobFetchError('TRUNCATED', `stream ended while fetching ${hash}`, { cause: err })
    }
  }
  try {
    await lp.write(encodeFrame(request), { signal: options.signal })
    const headerBytes = await read()
    if (headerBytes.byteLength > MAX_BLOB_HEADER_BYTES) {
      throw new ProtocolError(
        'MESSAGE_TOO_LARGE',
        `blob header exceeds ${MAX_BLOB_HEADER_BYTES} bytes`,
      )
    }
    const header: BlobResponse = decodeFrame(headerBytes, BlobResponseSchema).header
    if (header.type === 'not-found') {
      throw new BlobFetchError('NOT_FOUND', `the peer does not hold blob ${hash}`)
    }
    if (header.type === 'error') {
      throw new BlobFetchError(
        'REMOTE_ERROR',
        `the peer refused: ${header.code}: ${header.message}`,
      )
    }
    if (header.hash !== hash) {
      throw new ProtocolError(
        'PAYLOAD_MISMATCH',
        `asked for ${hash}, the peer announced ${header.hash}`,
      )
    }
    if (header.size > maxBytes) {
      throw new BlobFetchError(
        'TOO_LARGE',
        `blob ${hash} is ${header.size} bytes, limit ${maxBytes}`,
      )
    }
    const blob = new Uint8Array(header.size)
    let received = 0
    while (received < header.size) {
      const chunk = await read()
      if (chunk.byteLength === 0) {
        throw new ProtocolError('MALFORMED_FRAME', 'empty chunk frame')
      }
      if (received + chunk.byteLength > header.size) {
        throw new BlobFetchError(
          'TRUNCATED',
          `blob ${hash} runs past its announced ${header.size} bytes`,
        )
      }
      blob.set(chunk, received)
      received += chunk.byteLength
      options.onProgress?.(received, header.size)
    }
    const actual = await sha256Hex(blob)
    if (actual !== hash) {
      throw new BlobFetchError(
        'HASH_MISMATCH',
        `asked for blob ${hash}, received bytes hashing to ${actual}`,
      )
    }
    await stream.close({ signal: options.signal })
    return blob
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/**
 * Answers one blob request on an inbound stream from `source`. A malformed or oversized
 * request is answered with an `error` message when the stream still allows it, reported
 * through `onProtocolError`, and closes only this stream.
 */
export async function serveBlobRequest(
  stream: Stream,
  source: BlobSource,
  options: ServeBlobOptions,
): Promise<void> {
  const chunkBytes = Math.min(options.chunkBytes ?? DEFAULT_BLOB_CHUNK_BYTES, MAX_BLOB_CHUNK_BYTES)
  const lp = lpStream(stream, {
    maxDataLength: MAX_BLOB_HEADER_BYTES,
    maxBufferSize: 2 * MAX_BLOB_HEADER_BYTES,
  })
  const { signal } = options
  try {
    let request: BlobRequest
    try {
      request = decodeFrame((await lp.read({ signal })).subarray(), BlobRequestSchema).header
    } catch (err) {
      throw signal.aborted ? err : lengthError(err, MAX_BLOB_HEADER_BYTES)
    }
    const blob = await source.get(request.hash)
    if (blob == null) {
      const notFound: BlobResponse = { type: 'not-found', hash: request.hash }
      await lp.write(encodeFrame(notFound), { signal })
    } else {
      const found: BlobResponse = { type: 'blob', hash: request.hash, size: blob.byteLength }
      await lp.write(encodeFrame(found), { signal })
      for (let offset = 0; offset < blob.byteLength; offset += chunkBytes) {
        await lp.write(blob.subarray(offset, offset + chunkBytes), { signal })
      }
      options.onServed?.(request.hash, blob.byteLength)
    }
    await stream.close({ signal })
  } catch (err) {
    if (err instanceof ProtocolError) {
      options.onProtocolError?.(err)
      try {
        const refusal: BlobResponse = {
          type: 'error',
          code: err.code,
          message: err.message.slice(0, MAX_TEXT),
        }
        await lp.write(encodeFrame(refusal), { signal })
        await stream.close({ signal })
        return
      } catch {
        // The peer may be gone already; aborting below is all that is left to do.
      }
    }
    stream.abort(err as Error)
    if (!(err instanceof ProtocolError)) throw err
  }
}
