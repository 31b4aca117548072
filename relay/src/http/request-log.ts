import type { MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import type { Logger } from '../log.ts'
import type { RelayMetrics } from '../metrics/relay-metrics.ts'
import type { ApiEnv } from './api-env.ts'

/**
 * One log line and one metrics observation per request, with the request id (also sent back
 * in `x-request-id`), the route pattern, status, duration, client address and account. Never
 * the headers or the body, so no credential reaches the log.
 *
 * Answered requests are logged at debug (`TABSWARM_LOG_LEVEL=debug` shows them): pages,
 * assets, polls and event streams make most of a relay's requests, and at info they drowned
 * what an operator needs to read (jobs, faults, bans). Metrics count every request at any
 * level; a 5xx is still an error line.
 */
export function requestLog(options: {
  log: Logger
  metrics?: RelayMetrics
}): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const started = performance.now()
    await next()
    const seconds = (performance.now() - started) / 1000
    // After next(), routeIndex is the handler that answered: its pattern, not a catch-all's.
    const pattern = routePath(c)
    const route = pattern === '' || pattern.endsWith('*') ? 'unmatched' : pattern
    const status = c.res.status
    options.metrics?.observeRequest({ method: c.req.method, route, status, seconds })
    const fields = {
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      route,
      status,
      ms: Math.round(seconds * 10_000) / 10,
      ip: c.get('clientIp'),
      account: c.get('principal')?.account,
    }
    if (status >= 500) options.log.error('request', fields)
    else options.log.debug?.('request', fields)
  }
}
