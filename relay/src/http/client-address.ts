import { isIP } from 'node:net'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { MiddlewareHandler } from 'hono'
import type { ApiEnv } from './api-env.ts'

/**
 * The client's address from `X-Forwarded-For` when `proxies` trusted reverse proxies stand
 * in front of the relay: each appends the address it received the request from, so the
 * client is the `proxies`-th entry from the right. Entries further left were written by
 * the client itself and prove nothing. Undefined when the header is missing, shorter than
 * the chain, or not an IP address there.
 */
export function forwardedClient(header: string | undefined, proxies: number): string | undefined {
  if (header == null || proxies < 1) return undefined
  const hops = header.split(',').map((entry) => entry.trim())
  const entry = hops[hops.length - proxies]
  if (entry == null) return undefined
  // `[v6]:port` and `v4:port` forms some proxies write.
  const host = /^\[([^\]]+)\](?::\d+)?$/.exec(entry)?.[1] ?? entry.replace(/^([\d.]+):\d+$/, '$1')
  return isIP(host) === 0 ? undefined : host
}

/**
 * Puts the caller's address on the context as `clientIp`: the socket's peer, or with
 * `trustProxy` (true: one proxy; a number: that many in a chain) the address the nearest
 * trusted proxies saw (see `forwardedClient`). Only behind proxies that append to
 * `X-Forwarded-For`, or any client could pick its own rate-limit bucket.
 */
export function clientAddress(options: {
  trustProxy: boolean | number
}): MiddlewareHandler<ApiEnv> {
  const proxies =
    options.trustProxy === true ? 1 : options.trustProxy === false ? 0 : options.trustProxy
  return async (c, next) => {
    let ip = forwardedClient(c.req.header('x-forwarded-for'), proxies)
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
