import type { MiddlewareHandler } from 'hono'
import type { ApiEnv } from './api-env.ts'
import { ApiError } from './error-response.ts'

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

/** One token bucket per key (an account, an IP address). */
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
    throw new Error(
      `a token bucket needs ratePerSecond > 0 and burst >= 1, got ${ratePerSecond} and ${burst}`,
    )
  const now = options.now ?? Date.now
  const maxKeys = options.maxKeys ?? 100_000
  const buckets = new Map<string, { tokens: number; at: number }>()
  const perMs = ratePerSecond / 1000

  const level = (bucket: { tokens: number; at: number }, at: number) =>
    Math.min(burst, bucket.tokens + (at - bucket.at) * perMs)

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

/**
 * Answers 429 with `Retry-After` (whole seconds) when `key(c)`'s bucket is empty.
 * `scope` names the limit in the message and in the metrics; a `key` of `undefined` is not
 * limited.
 */
export function rateLimit(options: {
  limiter: TokenBucketLimiter
  scope: 'ip' | 'account'
  key: (c: Parameters<MiddlewareHandler<ApiEnv>>[0]) => string | undefined
  onLimited?: (scope: 'ip' | 'account') => void
}): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const key = options.key(c)
    const result = key === undefined ? ({ ok: true } as const) : options.limiter.take(key)
    if (!result.ok) {
      options.onLimited?.(options.scope)
      const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000))
      throw new ApiError(
        'RATE_LIMITED',
        `too many requests from this ${options.scope === 'ip' ? 'address' : 'account'}; retry in ${seconds} s`,
        { 'retry-after': String(seconds) },
      )
    }
    await next()
  }
}
