import { sha256Hex } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { openWeightCache, type WeightCacheEntry, type WeightCacheStorage } from './weight-cache.ts'

/** Storage in a map, shared between "visits" (cache instances), recording removals. */
function memoryStorage() {
  const blobs = new Map<string, Uint8Array>()
  const entries = new Map<string, WeightCacheEntry>()
  const removed: string[] = []
  const storage: WeightCacheStorage = {
    entries: async () => [...entries.values()].map((e) => ({ ...e })),
    read: async (hash) => blobs.get(hash),
    write: async (entry, bytes) => {
      blobs.set(entry.hash, bytes.slice())
      entries.set(entry.hash, { ...entry })
    },
    touch: async (hash, lastUsed) => {
      const entry = entries.get(hash)
      if (entry != null) entry.lastUsed = lastUsed
    },
    remove: async (hash) => {
      removed.push(hash)
      blobs.delete(hash)
      entries.delete(hash)
    },
  }
  return { storage, blobs, removed }
}

async function blob(size: number, fill: number) {
  const bytes = new Uint8Array(size).fill(fill)
  return { bytes, hash: await sha256Hex(bytes) }
}

describe('openWeightCache', () => {
  it('serves a returning visit from storage and counts hits, misses and bytes', async () => {
    const { storage } = memoryStorage()
    const w = await blob(1000, 1)
    const first = await openWeightCache({ storage, capacityBytes: 10_000 })
    expect(await first.get(w.hash, 1000)).toBeUndefined()
    expect(await first.put(w.hash, w.bytes)).toBe(true)

    const returning = await openWeightCache({ storage, capacityBytes: 10_000 })
    expect(await returning.get(w.hash, 1000)).toEqual(w.bytes)
    expect(returning.stats()).toMatchObject({
      hits: 1,
      misses: 0,
      bytesHit: 1000,
      entries: 1,
      bytesUsed: 1000,
      hitRate: 1,
    })
    expect(first.stats()).toMatchObject({
      hits: 0,
      misses: 1,
      bytesMissed: 1000,
      bytesStored: 1000,
    })
  })

  it('evicts the least recently used by bytes, a read counting as use', async () => {
    const { storage, removed } = memoryStorage()
    let t = 0
    const cache = await openWeightCache({ storage, capacityBytes: 2500, now: () => ++t })
    const [a, b, c] = await Promise.all([blob(1000, 1), blob(1000, 2), blob(1000, 3)])
    await cache.put(a.hash, a.bytes)
    await cache.put(b.hash, b.bytes)
    expect(await cache.get(a.hash, 1000)).toEqual(a.bytes) // a is now newer than b
    await cache.put(c.hash, c.bytes)
    expect(removed).toEqual([b.hash])
    expect(cache.stats()).toMatchObject({ entries: 2, bytesUsed: 2000, evictions: 1 })
    expect(await cache.get(b.hash, 1000)).toBeUndefined()
    expect(await cache.get(c.hash, 1000)).toEqual(c.bytes)
    // Larger than the whole cache: not kept, nothing evicted for it.
    const huge = await blob(3000, 4)
    expect(await cache.put(huge.hash, huge.bytes)).toBe(false)
    expect(cache.stats()).toMatchObject({ entries: 2, evictions: 1 })
  })

  it('drops an entry whose bytes no longer hash right, so it is fetched again', async () => {
    const { storage, blobs, removed } = memoryStorage()
    const cache = await openWeightCache({ storage, capacityBytes: 10_000 })
    const w = await blob(64, 7)
    await cache.put(w.hash, w.bytes)
    blobs.get(w.hash)![10] = 0
    expect(await cache.get(w.hash, 64)).toBeUndefined()
    expect(removed).toEqual([w.hash])
    expect(cache.stats()).toMatchObject({
      hits: 0,
      misses: 1,
      corrupt: 1,
      entries: 0,
      bytesUsed: 0,
    })
    expect(await cache.put(w.hash, w.bytes)).toBe(true)
    expect(await cache.get(w.hash, 64)).toEqual(w.bytes)
  })

  it('opens empty over a storage that fails, and a refused write keeps nothing', async () => {
    const failing: WeightCacheStorage = {
      entries: () => Promise.reject(new Error('blocked')),
      read: () => Promise.reject(new Error('blocked')),
      write: () => Promise.reject(new Error('QuotaExceededError')),
      touch: () => Promise.reject(new Error('blocked')),
      remove: () => Promise.reject(new Error('blocked')),
    }
    const cache = await openWeightCache({ storage: failing })
    const w = await blob(8, 1)
    expect(await cache.put(w.hash, w.bytes)).toBe(false)
    expect(await cache.get(w.hash, 8)).toBeUndefined()
    expect(cache.stats()).toMatchObject({ entries: 0, misses: 1, bytesStored: 0 })
  })

  it('gives up on a storage read that hangs, as a miss', async () => {
    const { storage } = memoryStorage()
    const cache = await openWeightCache({ storage, timeoutMs: 50 })
    const w = await blob(8, 1)
    await cache.put(w.hash, w.bytes)
    storage.read = () => new Promise(() => {})
    expect(await cache.get(w.hash, 8)).toBeUndefined()
    expect(cache.stats().misses).toBe(1)
  })
})
