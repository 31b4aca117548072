import { sha256Hex } from '@tabswarm/protocol'
import { untilAborted } from '@tabswarm/sdk/contributor'

/**
 * A tab's persistent cache of large task inputs (a model's weight tensors), so a tab that
 * comes back (a reload, a later visit) binds its stage without fetching its weights again.
 * Kept apart from the in-memory blob cache (`createBlobCache`), which holds what the tab
 * serves to peers and dies with the page. Bounded by bytes, least recently used out first;
 * every read is hashed again, since storage can be corrupted or edited under the tab.
 */

/** What the cache knows of one blob without reading it. */
export interface WeightCacheEntry {
  hash: string
  size: number
  /** Logical time of the last read or write: the smallest is evicted first. */
  lastUsed: number
}

/**
 * Where the bytes live: IndexedDB in a tab (`indexedDbWeightStorage`), a map in tests.
 * Every method may reject (quota, a blocked database); the cache treats that as a miss.
 */
export interface WeightCacheStorage {
  /** Every entry held, read once when the cache opens. */
  entries(): Promise<WeightCacheEntry[]>
  read(hash: string): Promise<Uint8Array | undefined>
  /** Writes the bytes and their entry together. */
  write(entry: WeightCacheEntry, bytes: Uint8Array): Promise<void>
  touch(hash: string, lastUsed: number): Promise<void>
  remove(hash: string): Promise<void>
}

/** How the cache has done since it opened, for the status panel, tests and the bench. */
export interface WeightCacheStats {
  /** Lookups answered from storage with bytes that hashed right. */
  hits: number
  /** Lookups not held, unreadable, or held wrong (then dropped). */
  misses: number
  /** Hits that read bytes not matching their hash: dropped, and fetched again. */
  corrupt: number
  bytesHit: number
  bytesMissed: number
  /** Bytes written since the cache opened. */
  bytesStored: number
  evictions: number
  entries: number
  bytesUsed: number
  capacityBytes: number
  /** `hits / (hits + misses)`, 0 before any lookup. */
  hitRate: number
}

export interface WeightCache {
  /** The bytes of `hash` when held and intact (`byteLength` long), else undefined. */
  get(
    hash: string,
    byteLength: number,
    options?: { signal?: AbortSignal },
  ): Promise<Uint8Array | undefined>
  /**
   * Keeps bytes already verified to hash to `hash`, evicting the least recently used to make
   * room. Returns whether they were kept (not when larger than the whole cache, or when
   * storage refused them).
   */
  put(hash: string, bytes: Uint8Array, options?: { signal?: AbortSignal }): Promise<boolean>
  stats(): WeightCacheStats
}

/** Options of {@link openWeightCache}. */
export interface WeightCacheOptions {
  storage: WeightCacheStorage
  /** Bytes kept before the least recently used are evicted. @default DEFAULT_WEIGHT_CACHE_BYTES */
  capacityBytes?: number
  /** Longest one storage operation may take before it counts as failed. @default 10_000 */
  timeoutMs?: number
  /** Logical clock, for tests. @default Date.now */
  now?: () => number
}

/**
 * Bytes of weights a tab keeps across visits: a few shards of a small model, well within
 * what browsers grant a site (Chromium: a share of the free disk), and evictable by them.
 */
export const DEFAULT_WEIGHT_CACHE_BYTES = 1024 * 1024 * 1024

/**
 * Opens the cache over `storage`, reading its index once. A storage that cannot list its
 * entries opens empty (every lookup a miss), so a blocked IndexedDB never stops a tab.
 *
 * @example
 * const weights = await openWeightCache({ storage: indexedDbWeightStorage() })
 * const bytes = (await weights.get(ref.sha256, ref.byteLength)) ?? (await fetchFromPeers(ref))
 */
export async function openWeightCache(options: WeightCacheOptions): Promise<WeightCache> {
  const { storage } = options
  const capacity = options.capacityBytes ?? DEFAULT_WEIGHT_CACHE_BYTES
  const timeoutMs = options.timeoutMs ?? 10_000
  const now = options.now ?? Date.now
  const index = new Map<string, WeightCacheEntry>()
  let used = 0
  let clock = 0
  const tick = () => {
    clock = Math.max(clock + 1, now())
    return clock
  }
  const stats = {
    hits: 0,
    misses: 0,
    corrupt: 0,
    bytesHit: 0,
    bytesMissed: 0,
    bytesStored: 0,
    evictions: 0,
  }
  const bounded = <T>(op: Promise<T>, signal?: AbortSignal): Promise<T> => {
    const limit = AbortSignal.timeout(timeoutMs)
    return untilAborted(op, signal ? AbortSignal.any([signal, limit]) : limit)
  }
  const forget = async (hash: string) => {
    const entry = index.get(hash)
    if (entry == null) return
    index.delete(hash)
    used -= entry.size
    await bounded(storage.remove(hash)).catch(() => undefined)
  }

  try {
    for (const entry of await bounded(storage.entries())) {
      index.set(entry.hash, entry)
      used += entry.size
      clock = Math.max(clock, entry.lastUsed)
    }
  } catch {
    // An unreadable index: start empty; what is there is overwritten as it is fetched again.
  }

  // One write at a time: evictions are counted against what the others already took.
  let writing: Promise<unknown> = Promise.resolve()

  return {
    async get(hash, byteLength, getOptions = {}) {
      const miss = () => {
        stats.misses++
        stats.bytesMissed += byteLength
        return undefined
      }
      const entry = index.get(hash)
      if (entry == null || entry.size !== byteLength) return miss()
      let bytes: Uint8Array | undefined
      try {
        bytes = await bounded(storage.read(hash), getOptions.signal)
      } catch {
        getOptions.signal?.throwIfAborted()
        return miss()
      }
      if (bytes == null || bytes.byteLength !== byteLength || (await sha256Hex(bytes)) !== hash) {
        if (bytes != null) stats.corrupt++
        await forget(hash)
        return miss()
      }
      stats.hits++
      stats.bytesHit += byteLength
      entry.lastUsed = tick()
      void bounded(storage.touch(hash, entry.lastUsed)).catch(() => undefined)
      return bytes
    },
    put(hash, bytes, putOptions = {}) {
      const write = async (): Promise<boolean> => {
        if (index.has(hash)) return true
        if (bytes.byteLength > capacity) return false
        const byAge = [...index.values()].sort((a, b) => a.lastUsed - b.lastUsed)
        for (const oldest of byAge) {
          if (used + bytes.byteLength <= capacity) break
          await forget(oldest.hash)
          stats.evictions++
        }
        const entry = { hash, size: bytes.byteLength, lastUsed: tick() }
        try {
          await bounded(storage.write(entry, bytes), putOptions.signal)
        } catch {
          return false
        }
        index.set(hash, entry)
        used += entry.size
        stats.bytesStored += entry.size
        return true
      }
      const done = writing.then(write, write)
      writing = done.catch(() => undefined)
      return done
    },
    stats() {
      const lookups = stats.hits + stats.misses
      return {
        ...stats,
        entries: index.size,
        bytesUsed: used,
        capacityBytes: capacity,
        hitRate: lookups === 0 ? 0 : stats.hits / lookups,
      }
    },
  }
}
