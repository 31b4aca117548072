import { sha256Hex } from '@tabswarm/protocol'
import { indexedDbWeightStorage } from '../../web/src/blobs/indexed-db-weight-storage.ts'
import {
  openWeightCache,
  type WeightCache,
  type WeightCacheStats,
} from '../../web/src/blobs/weight-cache.ts'

/**
 * The tab's weight cache over Chromium's real IndexedDB, driven by
 * `tests/e2e/weight-cache-in-chromium.test.ts` across page reloads. Blobs are `size` bytes
 * of one value, `fill`, so the test names them without shipping bytes.
 */
export interface WeightCachePage {
  open(capacityBytes: number): Promise<void>
  put(fill: number, size: number): Promise<{ hash: string; kept: boolean }>
  /** Whether the cache answered with exactly the blob's bytes. */
  get(fill: number, size: number): Promise<boolean>
  /** Overwrites the stored bytes of a blob behind the cache's back (a corrupted disk). */
  tamper(fill: number, size: number): Promise<void>
  stats(): WeightCacheStats
}

declare global {
  var weightCachePage: WeightCachePage
}

const DB = 'tabswarm-weight-cache-test'
const blob = (fill: number, size: number) => new Uint8Array(size).fill(fill)
let cache: WeightCache | undefined
const opened = () => {
  if (cache == null) throw new Error('open the cache first')
  return cache
}

globalThis.weightCachePage = {
  async open(capacityBytes) {
    cache = await openWeightCache({ storage: indexedDbWeightStorage(DB), capacityBytes })
  },
  async put(fill, size) {
    const bytes = blob(fill, size)
    const hash = await sha256Hex(bytes)
    return { hash, kept: await opened().put(hash, bytes) }
  },
  async get(fill, size) {
    const bytes = blob(fill, size)
    const got = await opened().get(await sha256Hex(bytes), size)
    return got?.every((v, i) => v === bytes[i]) === true
  },
  async tamper(fill, size) {
    const hash = await sha256Hex(blob(fill, size))
    const request = indexedDB.open(DB)
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(request.error)
    })
    const tx = db.transaction('blobs', 'readwrite')
    tx.objectStore('blobs').put(blob(fill + 1, size), hash)
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve()
      tx.onerror = () => reject(tx.error)
    })
    db.close()
  },
  stats: () => opened().stats(),
}
