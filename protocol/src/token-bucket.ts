/**
 * Token buckets per key, for every rate limit of the relay and the tabs: the HTTP API's per
 * address and per account, the discovery topic's per author. Plain JavaScript, no timers, no
 * Node: the protocol runs in browsers too.
 */

export interface TokenBucketOptions {
  /** Tokens added per second: the sustained request rate. */
  ratePerSecond: number
  /** Bucket size: how many requests may come at once after a quiet spell. */
  burst: number
  /** @default Date.now */
  now?: () => number
  /** Buckets tracked at once; idle (full) buckets are dropped first, then the least recently used. @default 100_000 */
  maxKeys?: number
}

export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number }

/** One token bucket per key (an account, an IP address, a discovery author). */
export interface TokenBucketLimiter {
  take(key: string, cost?: number): TakeResult
  readonly size: number
}

/**
 * Token buckets kept lazily: a bucket's level is computed from the time of its last take, so
 * there is no timer. A full bucket holds no information, so full ones are swept when the map
 * grows past `maxKeys`.
 */
export function createTokenBucketLimiter(options: TokenBucketOptions): TokenBucketLimiter {
  const { ratePerSecond, burst } = options
  if (!(ratePerSecond > 0) || !(burst >= 1))
    throw new RangeError(
      `a token bucket needs ratePerSecond > 0 and burst >= 1, got ${ratePerSecond} and ${burst}`,
    )
  const now = options.now ?? Date.now
  const maxKeys = options.maxKeys ?? 100_000
  const buckets = new Map<string, { tokens: number; at: number }>()
  const perMs = ratePerSecond / 1000

  // A clock that steps back refills nothing (and takes nothing away).
  const level = (bucket: { tokens: number; at: number }, at: number) =>
    Math.min(burst, bucket.tokens + Math.max(0, at - bucket.at) * perMs)

  // The map is in least-recently-used order (a take moves its key to the end). A sweep
  // drops the full buckets, then the least recently used down to 90%: so it runs at most
  // once per maxKeys/10 new keys, not on every new key of a flood of addresses.
  const keepAfterSweep = Math.floor(maxKeys * 0.9)
  function sweep(at: number): void {
    for (const [key, bucket] of buckets) if (level(bucket, at) >= burst) buckets.delete(key)
    // Still too many keys active at once: forget the least recently used, which favours them.
    for (const key of buckets.keys()) {
      if (buckets.size <= keepAfterSweep) break
      buckets.delete(key)
    }
  }

  return {
    take(key, cost = 1) {
      const at = now()
      let bucket = buckets.get(key)
      if (bucket == null) {
        if (buckets.size >= maxKeys) sweep(at)
        bucket = { tokens: burst, at }
      } else buckets.delete(key)
      buckets.set(key, bucket)
      const tokens = level(bucket, at)
      if (tokens < cost) {
        bucket.tokens = tokens
        bucket.at = at
        return { ok: false, retryAfterMs: Math.ceil((cost - tokens) / perMs) }
      }
      bucket.tokens = tokens - cost
      bucket.at = at
      return { ok: true }
    },
    get size() {
      return buckets.size
    },
  }
}
