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
  const capacity = options.capacityBytes
  // Map iteration order is insertion order: re-inserting on use makes it an LRU.
  const kept = new Map<string, Uint8Array>()
  let used = 0
  const keep = (hash: string, bytes: Uint8Array) => {
    if (bytes.byteLength > capacity || kept.has(hash)) return
    // A view into a larger buffer (a transport's) would keep all of it alive: own the bytes.
    const own = bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes)
    for (const [oldest, old] of kept) {
      if (used + bytes.byteLength <= capacity) break
      kept.delete(oldest)
      used -= old.byteLength
    }
    kept.set(hash, own)
    used += own.byteLength
  }
  return {
    async fetch(ref, fetchOptions) {
      const hit = kept.get(ref.sha256)
      if (hit != null && hit.byteLength === ref.byteLength) {
        kept.delete(ref.sha256)
        kept.set(ref.sha256, hit)
        return { bytes: hit, from: 'cache' }
      }
      const got = await inner.fetch(ref, fetchOptions)
      await checkInput(ref, got.bytes, got.from)
      keep(ref.sha256, got.bytes)
      return got
    },
    ...(inner.held != null ? { held: () => inner.held!() } : {}),
  }
}
