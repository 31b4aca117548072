/** Options of {@link createBlobCache}. */
export interface BlobCacheOptions {
  /** Bytes held before the least recently used blobs are dropped. @default 128 MiB */
  capacityBytes?: number
}

/**
 * Verified blobs kept by hash, bounded by bytes, least recently used first out: the blobs a
 * tab holds and serves to its peers, and a headless worker's private input cache
 * (`lruInputSource`).
 */
export interface BlobCache {
  /** The blob's bytes, marking it recently used; undefined when not held. */
  get(hash: string): Uint8Array | undefined
  has(hash: string): boolean
  /**
   * Keeps bytes already verified to hash to `hash`. A blob larger than the whole cache is
   * not kept. Returns whether it was kept.
   */
  set(hash: string, bytes: Uint8Array): boolean
  /** Hashes held, least recently used first. */
  hashes(): string[]
  /**
   * Hashes held, most recently used first, at most `limit`: what the tab announces it can
   * serve (`holds` on its lease requests).
   */
  recent(limit: number): string[]
  readonly bytesUsed: number
  readonly capacityBytes: number
}

/**
 * In-memory LRU of verified blobs. Memory rather than IndexedDB: blobs are task inputs
 * reused within minutes, and a tab's cache dies with the tab anyway; the bound keeps a
 * long-lived contributor from growing without limit.
 */
export function createBlobCache(options: BlobCacheOptions = {}): BlobCache {
  const capacity = options.capacityBytes ?? 128 * 1024 * 1024
  // Map iteration order is insertion order: re-inserting on use makes it an LRU.
  const blobs = new Map<string, Uint8Array>()
  let used = 0
  return {
    get(hash) {
      const bytes = blobs.get(hash)
      if (bytes != null) {
        blobs.delete(hash)
        blobs.set(hash, bytes)
      }
      return bytes
    },
    has: (hash) => blobs.has(hash),
    set(hash, bytes) {
      if (bytes.byteLength > capacity) return false
      const previous = blobs.get(hash)
      if (previous != null) {
        blobs.delete(hash)
        used -= previous.byteLength
      }
      for (const [oldest, old] of blobs) {
        if (used + bytes.byteLength <= capacity) break
        blobs.delete(oldest)
        used -= old.byteLength
      }
      blobs.set(hash, bytes)
      used += bytes.byteLength
      return true
    },
    hashes: () => [...blobs.keys()],
    recent(limit) {
      const keys = [...blobs.keys()]
      return keys.slice(Math.max(0, keys.length - limit)).reverse()
    },
    get bytesUsed() {
      return used
    },
    capacityBytes: capacity,
  }
}
