import { WALLET_AUTH_HEADERS } from '@tabswarm/protocol'
import type { MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import type { ApiEnv } from './api-env.ts'
import { ApiError } from './error-response.ts'

/** Origins allowed to call the API from a browser page of theirs, or any (`'*'`). */
export type CorsOrigins = readonly string[] | '*'

/**
 * CORS for the API, so the browser SDK works from pages served elsewhere. Credentials are
 * never cookies (an API key or a wallet signature travels in a header), so no
 * `Access-Control-Allow-Credentials`: a page can only use a key it holds. The request
 * headers the SDK sends and the response headers it reads are listed.
 */
export function apiCors(origins: CorsOrigins): MiddlewareHandler<ApiEnv> {
  const allowed = origins === '*' ? '*' : [...origins]
  return cors({
    origin: allowed === '*' ? '*' : (origin) => (allowed.includes(origin) ? origin : null),
    allowMethods: ['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS'],
    allowHeaders: [
      'authorization',
      'content-type',
      'last-event-id',
      ...Object.values(WALLET_AUTH_HEADERS),
    ],
    exposeHeaders: ['retry-after', 'x-request-id', 'x-tabswarm-dtype', 'x-tabswarm-shape'],
    maxAge: 600,
  })
}

/**
 * Lets any page read a public, read-only answer (`Access-Control-Allow-Origin: *`), whatever
 * `TABSWARM_CORS_ORIGINS` says: the widget on a site's page asks its relay `GET /v1/swarm`
 * where to dial, which holds nothing a page could misuse. Only for routes without
 * authentication that change nothing; no credentials are ever allowed, so a page learns
 * nothing more than a server-side fetch would.
 */
export function publicRead(): MiddlewareHandler {
  return async (c, next) => {
    await next()
    if (c.req.method === 'GET' || c.req.method === 'HEAD')
      c.res.headers.set('access-control-allow-origin', '*')
  }
}

/**
 * For the relay's static assets a site's page loads: the widget's loader (`/widget.js`), its
 * lazy part and the kernel worker (`/assets/*`). Module scripts and workers load in CORS
 * mode, so without these headers a page on another origin cannot run them;
 * `Cross-Origin-Resource-Policy` lets them load into a page that requires it (COEP).
 */
export function publicAssets(): MiddlewareHandler {
  return async (c, next) => {
    await next()
    c.res.headers.set('access-control-allow-origin', '*')
    c.res.headers.set('cross-origin-resource-policy', 'cross-origin')
  }
}

const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/i

/**
 * For a request made as the local account (a relay open to its local user without
 * credentials), the caller's address is its credential, and every page the user's browser opens shares that address. So there a
 * request must name a loopback host (a DNS-rebound name is refused) and, when it carries an
 * `Origin`, come from the relay's own pages or an allowed origin: a page elsewhere cannot
 * even send a simple cross-site `POST` (say, a cancel) on the user's behalf.
 */
export function localOriginGuard(origins: CorsOrigins): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    // Keys and signatures are credentials a page must hold; only the address is not.
    if (c.get('principal')?.via !== 'local') return next()
    const host = c.req.header('host') ?? new URL(c.req.url).host
    if (!LOOPBACK_HOST.test(host))
      throw new ApiError(
        'FORBIDDEN',
        `this relay is open to local callers only, and "${host.slice(0, 80)}" is not a loopback host`,
      )
    const origin = c.req.header('origin')
    if (origin != null && origin !== 'null') {
      let sameOrigin = false
      try {
        sameOrigin = new URL(origin).host.toLowerCase() === host.toLowerCase()
      } catch {
        // Not a URL: not the relay's own page.
      }
      if (!sameOrigin && origins !== '*' && !origins.includes(origin))
        throw new ApiError(
          'FORBIDDEN',
          `origin ${origin.slice(0, 80)} may not use this relay's open local API; list it in TABSWARM_CORS_ORIGINS`,
        )
    }
    await next()
  }
}
