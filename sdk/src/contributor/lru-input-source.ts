import { createBlobCache } from './blob-cache.ts'
import { checkInput } from './check-input.ts'
import type { InputSource } from './input-source.ts'

/** Options of {@link lruInputSource}. */
export interface LruInputSourceOptions {
  /** Bytes kept before the least recently used inputs are dropped. */
  capacityBytes: number
}

/**
 * `inner` behind a small in-memory LRU of recent inputs, by sha-256: a matmul job's B and
 * the bands of A its tasks share are fetched once, not once per task. Only bytes that
 * passed `checkInput` are kept, so a hit needs no second hash; an input larger than the
 * whole cache is passed through, not kept. The cache is private to this contributor:
 * `held()` is `inner`'s, since keeping bytes is not serving them.
 *
 * @example
 * const inputs = lruInputSource(relayInputSource(node, relay), { capacityBytes: 64 << 20 })
 */
export function lruInputSource(inner: InputSource, options: LruInputSourceOptions): InputSource {
  const cache = createBlobCache({ capacityBytes: options.capacityBytes })
  const keep = (hash: string, bytes: Uint8Array) => {
    if (cache.has(hash)) return
    // A view into a larger buffer (a transport's) would keep all of it alive: own the bytes.
    cache.set(hash, bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes))
  }
  return {
    async fetch(ref, fetchOptions) {
      const hit = cache.get(ref.sha256)
      if (hit != null && hit.byteLength === ref.byteLength) return { bytes: hit, from: 'cache' }
      const got = await inner.fetch(ref, fetchOptions)
      await checkInput(ref, got.bytes, got.from)
      keep(ref.sha256, got.bytes)
      return got
    },
    ...(inner.held != null ? { held: () => inner.held!() } : {}),
    ...(inner.keep != null ? { keep: (sha256, bytes) => inner.keep!(sha256, bytes) } : {}),
  }
}
