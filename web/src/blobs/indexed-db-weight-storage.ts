import { type DBSchema, openDB } from 'idb'
import type { WeightCacheEntry, WeightCacheStorage } from './weight-cache.ts'

/** The database of the tab's weight cache, apart from its identity and wallet. */
const DB_NAME = 'tabswarm-weights'

interface WeightsDb extends DBSchema {
  /** The bytes, by sha-256: read only on a hit. */
  blobs: { key: string; value: Uint8Array }
  /** What the cache indexes at open, small: without reading every blob. */
  entries: { key: string; value: WeightCacheEntry }
}

/**
 * The weight cache's storage in IndexedDB: one store of bytes and one of entries, written
 * in one transaction so an entry never names bytes that are not there. The database is
 * opened on first use and kept open for the page.
 *
 * @example
 * const weights = await openWeightCache({ storage: indexedDbWeightStorage() })
 */
export function indexedDbWeightStorage(name = DB_NAME): WeightCacheStorage {
  let db: ReturnType<typeof openDB<WeightsDb>> | undefined
  const open = () => {
    db ??= openDB<WeightsDb>(name, 1, {
      upgrade(database) {
        database.createObjectStore('blobs')
        database.createObjectStore('entries')
      },
    })
    return db
  }
  return {
    async entries() {
      return (await open()).getAll('entries')
    },
    async read(hash) {
      return (await open()).get('blobs', hash)
    },
    async write(entry, bytes) {
      const tx = (await open()).transaction(['blobs', 'entries'], 'readwrite')
      // A copy of exactly the bytes: a view would store its whole underlying buffer.
      await Promise.all([
        tx.objectStore('blobs').put(bytes.slice(), entry.hash),
        tx.objectStore('entries').put(entry, entry.hash),
        tx.done,
      ])
    },
    async touch(hash, lastUsed) {
      const tx = (await open()).transaction('entries', 'readwrite')
      const entry = await tx.store.get(hash)
      if (entry != null) await tx.store.put({ ...entry, lastUsed }, hash)
      await tx.done
    },
    async remove(hash) {
      const tx = (await open()).transaction(['blobs', 'entries'], 'readwrite')
      await Promise.all([
        tx.objectStore('blobs').delete(hash),
        tx.objectStore('entries').delete(hash),
        tx.done,
      ])
    },
  }
}
