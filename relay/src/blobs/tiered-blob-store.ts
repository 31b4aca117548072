import { bytesReader } from '@tabswarm/protocol'
import type { CoordinatorStore } from '../store/coordinator-store.ts'
import type { BlobStore } from './blob-store.ts'
import { prependChunks, readChunks } from './read-chunks.ts'
import { sha256HexSync } from './sha256-hex.ts'

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
  const tiered: BlobStore = {
    async putStream(source, streamOptions) {
      // Read up to the inline size: a small blob goes to the store whole; a larger one is
      // handed to `large` with what was read so far, still streaming.
      const chunks = readChunks(source, streamOptions)
      const head: Uint8Array[] = []
      let size = 0
      for (;;) {
        const next = await chunks.next()
        if (next.done) return tiered.put(Buffer.concat(head))
        head.push(next.value)
        size += next.value.byteLength
        if (size > inlineMax) break
      }
      try {
        return await large.putStream(prependChunks(head, chunks), streamOptions)
      } finally {
        // Releases the source if `large` failed before it read to the end.
        await chunks.return()
      }
    },
    put(bytes) {
      if (bytes.byteLength > inlineMax || inlineBytes + bytes.byteLength > inlineCapacity)
        return large.put(bytes)
      const hash = sha256HexSync(bytes)
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
  return tiered
}
