import { getConnInfo } from '@hono/node-server/conninfo'
import type { MiddlewareHandler } from 'hono'
import type { ApiEnv } from './api-env.ts'

/**
 * Puts the caller's address on the context as `clientIp`: the socket's peer, or with
 * `trustProxy` the first address of `X-Forwarded-For` (only behind a proxy that sets it, or
 * any client could pick its own rate-limit bucket).
 */
export function clientAddress(options: { trustProxy: boolean }): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    let ip: string | undefined
    if (options.trustProxy) ip = c.req.header('x-forwarded-for')?.split(',')[0]?.trim() || undefined
    if (ip === undefined) {
      try {
        ip = getConnInfo(c).remote.address
      } catch {
        // Not behind the Node adapter (an in-process `app.request` in tests).
      }
    }
    c.set('clientIp', ip ?? 'unknown')
    await next()
  }
}
