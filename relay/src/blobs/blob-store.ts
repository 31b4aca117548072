import {
  type BlobReader,
  type BlobStoreErrorCode,
  bytesReader,
  type ErrorDetailsOptions,
  TabswarmError,
} from '@tabswarm/protocol'
import { type ReadChunksOptions, readChunks } from './read-chunks.ts'
import { sha256HexSync } from './sha256-hex.ts'

/** The blob store refused bytes; `code` says why (`STORE_FULL`, `BAD_HASH`, ...). */
export class BlobStoreError extends TabswarmError {
  override name = 'BlobStoreError' as const
  declare readonly code: BlobStoreErrorCode

  constructor(message: string, options: ErrorDetailsOptions & { code: BlobStoreErrorCode }) {
    super(message, options)
  }
}

/** Content-addressed bytes: the key of a blob is the sha-256 of its contents. */
export interface BlobStore {
  put(bytes: Uint8Array): { hash: string; size: number }
  /**
   * Stores a stream of bytes as it arrives, hashing on the way, without ever holding it
   * whole (the disk store writes a temp file and renames it under its hash on success).
   * An error of the source, an abort or the deadline leaves nothing stored.
   */
  putStream(
    source: ReadableStream<Uint8Array>,
    options?: PutStreamOptions,
  ): Promise<{ hash: string; size: number }>
  get(hash: string): Uint8Array | undefined
  /** Opens a blob for reading a chunk at a time (how the relay serves it to tabs). */
  open(hash: string): Promise<BlobReader | undefined>
  has(hash: string): boolean
  readonly bytesUsed: number
}

/** Options of {@link BlobStore.putStream}: a signal, a size limit and a deadline. */
export type PutStreamOptions = ReadChunksOptions

export interface MemoryBlobStoreOptions {
  /** Total bytes held before `put` refuses. @default 2 GiB */
  capacityBytes?: number
}

/** Blobs held in memory, for the embedded single-process default. */
export function createMemoryBlobStore(options: MemoryBlobStoreOptions = {}): BlobStore {
  const capacity = options.capacityBytes ?? 2 * 1024 ** 3
  const blobs = new Map<string, Uint8Array>()
  let used = 0
  const store: BlobStore = {
    async putStream(source, options) {
      // Memory is where these bytes live anyway: gather, then store once.
      const chunks: Uint8Array[] = []
      for await (const chunk of readChunks(source, options)) chunks.push(chunk)
      return store.put(Buffer.concat(chunks))
    },
    put(bytes) {
      const hash = sha256HexSync(bytes)
      if (!blobs.has(hash)) {
        if (used + bytes.byteLength > capacity) {
          throw new BlobStoreError(`blob store is full (${used} of ${capacity} bytes used)`, {
            code: 'STORE_FULL',
          })
        }
        // Copy into a fresh, 4-byte-aligned buffer so typed-array views on it never need another copy.
        blobs.set(hash, new Uint8Array(bytes))
        used += bytes.byteLength
      }
      return { hash, size: bytes.byteLength }
    },
    get: (hash) => blobs.get(hash),
    async open(hash) {
      const bytes = blobs.get(hash)
      return bytes != null ? bytesReader(bytes) : undefined
    },
    has: (hash) => blobs.has(hash),
    get bytesUsed() {
      return used
    },
  }
  return store
}
