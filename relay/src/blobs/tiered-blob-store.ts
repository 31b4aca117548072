import { createHash } from 'node:crypto'
import { bytesReader } from '../protocol/blob-exchange.ts'
import type { CoordinatorStore } from '../store/coordinator-store.ts'
import type { BlobStore } from './blob-store.ts'

export interface TieredBlobStoreOptions {
  /** Holds blobs up to `inlineMaxBytes`, in the same transactions as the results that name them. */
  store: CoordinatorStore
  /** Holds larger blobs (job inputs, big outputs). */
  large: BlobStore
  /** @default 256 KiB */
  inlineMaxBytes?: number
  /**
   * Total bytes kept inline; past it, small blobs go to `large` as well, so the database
   * (and its page cache) stays bounded however many outputs accumulate. @default 4 GiB
   */
  inlineCapacityBytes?: number
}

const HASH = /^[0-9a-f]{64}$/

/**
 * Small blobs (most task outputs) in the coordinator's store, large ones in files. A task
 * result then costs no file creation, and its output commits atomically with the result
 * row that names it. Content addressing is the same for both: callers cannot tell.
 */
export function createTieredBlobStore(options: TieredBlobStoreOptions): BlobStore {
  const { store, large } = options
  const inlineMax = options.inlineMaxBytes ?? 256 * 1024
  const inlineCapacity = options.inlineCapacityBytes ?? 4 * 1024 ** 3
  let inlineBytes = store.blobBytes()
  return {
    put(bytes) {
      if (bytes.byteLength > inlineMax || inlineBytes + bytes.byteLength > inlineCapacity)
        return large.put(bytes)
      const hash = createHash('sha256').update(bytes).digest('hex')
      // One statement, not a lookup then an insert: this runs once per accepted result.
      if (store.putBlob(hash, bytes)) inlineBytes += bytes.byteLength
      return { hash, size: bytes.byteLength }
    },
    get(hash) {
      if (!HASH.test(hash)) return undefined
      return store.getBlob(hash) ?? large.get(hash)
    },
    async open(hash) {
      if (!HASH.test(hash)) return undefined
      const inline = store.getBlob(hash)
      return inline != null ? bytesReader(inline) : large.open(hash)
    },
    has(hash) {
      if (!HASH.test(hash)) return false
      return store.hasBlob(hash) || large.has(hash)
    },
    get bytesUsed() {
      return inlineBytes + large.bytesUsed
    },
  }
}
