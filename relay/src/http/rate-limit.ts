import type { TokenBucketLimiter } from '@tabswarm/protocol'
import type { MiddlewareHandler } from 'hono'
import type { ApiEnv } from './api-env.ts'
import { ApiError } from './error-response.ts'

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
