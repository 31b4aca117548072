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
 * bytes in chunk frames. The receiver checks every length before allocating, keeps the
 * chunks as they arrive (never more than the announced size: memory follows what arrived),
 * copies them once into the blob, and hashes the whole blob before handing it out: a peer can waste a stream, never plant
 * wrong bytes. The server reads the blob a chunk at a time from its source.
 */

/** A blob being served: its size, and its bytes read a chunk at a time. */
export interface BlobReader {
  readonly size: number
  /** `length` bytes from `offset`, in a buffer the caller may keep. */
  read(offset: number, length: number): Uint8Array | Promise<Uint8Array>
  /** Gives back what the reader holds (a file handle). */
  close?(): void | Promise<void>
}

/**
 * Where a server finds the blobs it may serve: the relay's store (read from disk a chunk
 * at a time), a tab's cache (in memory).
 */
export interface BlobSource {
  open(hash: string): BlobReader | undefined | Promise<BlobReader | undefined>
}

/** A reader over bytes already in memory. */
export function bytesReader(bytes: Uint8Array): BlobReader {
  return {
    size: bytes.byteLength,
    read: (offset, length) => bytes.subarray(offset, offset + length),
  }
}

/** A source over a lookup of in-memory blobs (a tab's cache). */
export function memoryBlobSource(source: {
  get(hash: string): Uint8Array | undefined
}): BlobSource {
  return {
    open(hash) {
      const bytes = source.get(hash)
      return bytes != null ? bytesReader(bytes) : undefined
    },
  }
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
  /** Bytes per chunk frame, at most MAX_BLOB_CHUNK_BYTES. @default 1 MiB (DEFAULT_BLOB_CHUNK_BYTES) */
  chunkBytes?: number
  /** Called when the request breaks the protocol; the stream is answered and closed. */
  onProtocolError?: (err: ProtocolError) => void
  /** Called after a blob was sent in full. */
  onServed?: (hash: string, bytes: number) => void
  /**
   * Budget for the request itself to arrive: a few dozen bytes, so a peer that trickles
   * them (or sends nothing) loses the stream long before the transfer budget runs out.
   * @default 10_000
   */
  requestTimeoutMs?: number
}

/** Budget for a blob request to arrive once its stream is open. */
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

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
  // One idle timer, re-armed per frame, rather than a timeout signal (and its listeners) per chunk.
  const idle = new AbortController()
  let idleTimer: ReturnType<typeof setTimeout> | undefined
  const readSignal = AbortSignal.any([options.signal, idle.signal])
  // A frame as it arrived: a list over the transport's own buffers, not yet copied.
  const read = async () => {
    clearTimeout(idleTimer)
    idleTimer = setTimeout(() => idle.abort(), idleMs)
    try {
      return await lp.read({ signal: readSignal })
    } catch (err) {
      if (options.signal.aborted) throw err
      if (idle.signal.aborted) {
        throw new BlobFetchError('TIMEOUT', `no data for ${idleMs} ms while fetching ${hash}`)
      }
      const mapped = lengthError(err, MAX_BLOB_CHUNK_BYTES)
      if (mapped !== err) throw mapped
      throw new BlobFetchError('TRUNCATED', `stream ended while fetching ${hash}`, { cause: err })
    }
  }
  try {
    await lp.write(encodeFrame(request), { signal: options.signal })
    const headerBytes = (await read()).subarray()
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
    // The chunks are kept as they arrived (views of the transport's buffers) and copied once,
    // into a buffer of exactly the announced size, when the last one is in: memory follows
    // what arrived, never the size a peer announced, and every byte is copied once.
    const parts: Uint8Array[] = []
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
      for (const part of chunk) parts.push(part)
      received += chunk.byteLength
      options.onProgress?.(received, header.size)
    }
    const blob = concatParts(parts, header.size)
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
  } finally {
    clearTimeout(idleTimer)
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
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  try {
    let request: BlobRequest
    const requestSignal = AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)])
    try {
      request = decodeFrame(
        (await lp.read({ signal: requestSignal })).subarray(),
        BlobRequestSchema,
      ).header
    } catch (err) {
      if (requestSignal.aborted && !signal.aborted) {
        throw new Error(`no blob request within ${requestTimeoutMs} ms`, { cause: err })
      }
      throw signal.aborted ? err : lengthError(err, MAX_BLOB_HEADER_BYTES)
    }
    const blob = await source.open(request.hash)
    if (blob == null) {
      const notFound: BlobResponse = { type: 'not-found', hash: request.hash }
      await lp.write(encodeFrame(notFound), { signal })
    } else {
      try {
        if (blob.size > MAX_BLOB_BYTES) {
          await writeRefusal(
            lp,
            'TOO_LARGE',
            `blob ${request.hash} is ${blob.size} bytes, more than the ${MAX_BLOB_BYTES} the blob protocol carries`,
            signal,
          )
        } else {
          const found: BlobResponse = { type: 'blob', hash: request.hash, size: blob.size }
          await lp.write(encodeFrame(found), { signal })
          for (let offset = 0; offset < blob.size; offset += chunkBytes) {
            const length = Math.min(chunkBytes, blob.size - offset)
            await lp.write(await blob.read(offset, length), { signal })
          }
          options.onServed?.(request.hash, blob.size)
        }
      } finally {
        await blob.close?.()
      }
    }
    await stream.close({ signal })
  } catch (err) {
    if (err instanceof ProtocolError) {
      options.onProtocolError?.(err)
      try {
        await writeRefusal(lp, err.code, err.message, signal)
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

/** `parts` laid end to end in one buffer of `size` bytes (their total). */
function concatParts(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1 && parts[0]!.byteLength === size) return parts[0]!
  const blob = new Uint8Array(size)
  let offset = 0
  for (const part of parts) {
    blob.set(part, offset)
    offset += part.byteLength
  }
  parts.length = 0
  return blob
}

function writeRefusal(
  lp: ReturnType<typeof lpStream>,
  code: string,
  message: string,
  signal: AbortSignal,
): Promise<void> {
  // Cut to what the schema admits, or the peer would refuse the refusal itself.
  const refusal: BlobResponse = {
    type: 'error',
    code: code.slice(0, 64),
    message: message.slice(0, MAX_TEXT),
  }
  return lp.write(encodeFrame(refusal), { signal })
}

/**
 * Answers a blob stream with an `error` message without reading its request (the server is
 * too busy, say) and closes it.
 */
export async function refuseBlobRequest(
  stream: Stream,
  code: string,
  message: string,
  signal: AbortSignal,
): Promise<void> {
  try {
    await writeRefusal(lpStream(stream), code, message, signal)
    await stream.close({ signal })
  } catch (err) {
    stream.abort(err as Error)
  }
}
