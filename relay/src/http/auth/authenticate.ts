import { EMPTY_BODY_SHA256 } from '@tabswarm/protocol'
import type { MiddlewareHandler } from 'hono'
import type { ApiEnv, Principal } from '../api-env.ts'
import { ApiError } from '../error-response.ts'
import { pipeRequestBody } from '../pipe-request-body.ts'
import type { ApiKeyRing } from './api-keys.ts'
import { bodyDigestCheck } from './body-digest-check.ts'
import type { WalletAuthenticator } from './wallet-auth.ts'
import type { WalletSessions } from './wallet-sessions.ts'

export interface AuthenticateOptions {
  keys: ApiKeyRing
  wallet: WalletAuthenticator
  /**
   * Bearer tokens of wallet sessions (`POST /v1/sessions`), taken like an API key of the
   * wallet. Without it, session tokens are refused as unknown keys.
   */
  sessions?: WalletSessions
  /**
   * Callers without credentials act as the account `local`. Only for a relay bound to
   * loopback with no keys configured: see {@link decideAuthMode}.
   */
  openToLocal: boolean
  /** Told of every refused request, for metrics. */
  onFailure?: (code: string) => void
}

/** The account unauthenticated callers get on an open, loopback-only relay. */
export const LOCAL_ACCOUNT = 'local'

const CHALLENGE = { 'www-authenticate': 'Bearer realm="tabswarm"' }

/**
 * Decides who a request is from: a wallet signature (`x-tabswarm-*` headers), a wallet
 * session's token or an API key (`Authorization: Bearer <token or key>`); without any, `local`
 * on an open relay and 401 elsewhere.
 * Sets `principal` on the context.
 *
 * Reads no body: a wallet signature is checked from its headers (it covers the body's
 * declared sha-256), and the body is then checked against that hash as the handler streams
 * it in, so a forged or replayed request is refused before the client has sent its body.
 */
export function authenticate(options: AuthenticateOptions): MiddlewareHandler<ApiEnv> {
  const refuse = (code: ConstructorParameters<typeof ApiError>[0], message: string) => {
    options.onFailure?.(code)
    return new ApiError(code, message, CHALLENGE)
  }
  const { sessions } = options
  return async (c, next) => {
    let principal: Principal
    const url = new URL(c.req.url)
    const signed = {
      method: c.req.method,
      path: `${url.pathname}${url.search}`,
      header: (name: string) => c.req.header(name),
    }
    const authorization =
      c.req.header('authorization') ?? webSocketBearer(c.req.header('sec-websocket-protocol'))
    if (options.wallet.present(signed)) {
      const result = await options.wallet.verify(signed)
      if (!result.ok) throw refuse(result.code, result.message)
      if (c.req.raw.body != null) pipeRequestBody(c, bodyDigestCheck(result.bodySha256))
      else if (`0x${result.bodySha256}` !== EMPTY_BODY_SHA256)
        throw new ApiError(
          'BODY_HASH_MISMATCH',
          `the request has no body, but its signature covers a body with sha-256 0x${result.bodySha256}; send the body you signed`,
        )
      principal = { account: result.address, via: 'wallet' }
    } else if (sessions?.isSessionToken(bearerValue(authorization))) {
      const session = await sessions.lookup(bearerValue(authorization))
      if (!session.ok) throw refuse(session.code, session.message)
      principal = { account: session.account, via: 'wallet-session' }
    } else if (authorization !== undefined && options.keys.size > 0) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
      if (match == null) throw refuse('INVALID_API_KEY', 'Authorization must be "Bearer <api key>"')
      const account = options.keys.lookup(match[1]!)
      if (account === undefined)
        throw refuse('INVALID_API_KEY', 'the API key is not known to this relay')
      principal = { account, via: 'api-key' }
    } else if (options.openToLocal) {
      principal = { account: LOCAL_ACCOUNT, via: 'local' }
    } else {
      throw refuse(
        'AUTH_REQUIRED',
        'this relay needs credentials: Authorization: Bearer <api key>, or a wallet signature in x-tabswarm-* headers',
      )
    }
    c.set('principal', principal)
    await next()
  }
}

/** The credential of an `Authorization: Bearer <value>` header ('' for another scheme). */
function bearerValue(authorization: string | undefined): string {
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? ''
}

/**
 * Browsers cannot set headers on a WebSocket; they may offer the key as a subprotocol
 * instead: `new WebSocket(url, ['tabswarm.v1', 'tabswarm.bearer.' + base64url(key)])`.
 * The server selects `tabswarm.v1` (the first offered), so the key is never echoed back.
 */
export const WEBSOCKET_BEARER_PREFIX = 'tabswarm.bearer.'

function webSocketBearer(protocols: string | undefined): string | undefined {
  const offered = protocols?.split(',').map((p) => p.trim())
  const token = offered?.find((p) => p.startsWith(WEBSOCKET_BEARER_PREFIX))
  if (token === undefined) return undefined
  const key = Buffer.from(token.slice(WEBSOCKET_BEARER_PREFIX.length), 'base64url').toString('utf8')
  return `Bearer ${key}`
}

/** Whether a socket's peer address is this machine (IPv4, IPv6 or IPv4-mapped IPv6 loopback). */
export function isLoopbackAddress(address: string): boolean {
  return address === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address)
}

/** Whether a host string names only this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '')
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare)
}

/**
 * The embedded default must start with zero configuration, and a public relay must never be
 * open: open to local callers when bound to loopback with no keys, keyed otherwise, and a
 * non-loopback relay without keys does not start (unless it takes wallet signatures only).
 */
export function decideAuthMode(input: { host: string; keyCount: number; walletOnly: boolean }): {
  openToLocal: boolean
} {
  if (input.keyCount > 0 || input.walletOnly) return { openToLocal: false }
  if (isLoopbackHost(input.host)) return { openToLocal: true }
  throw new Error(
    `refusing to serve the API on ${input.host} without credentials: set TABSWARM_API_KEYS (account:key pairs), ` +
      `add keys to <data dir>/api-keys.json, or set TABSWARM_WALLET_AUTH_ONLY=true to accept wallet signatures only; ` +
      `bind 127.0.0.1 for an open local relay`,
  )
}
