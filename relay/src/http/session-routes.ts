import { OpenSessionBodySchema, WalletSessionViewSchema } from '@tabswarm/protocol'
import type { Context } from 'hono'
import type { ApiEnv } from './api-env.ts'
import type { WalletSessions } from './auth/wallet-sessions.ts'
import { ApiError } from './error-response.ts'
import type { RegisterRoute } from './route-docs.ts'
import { parseOrThrow, readJsonBody } from './validation.ts'

/** Largest body of `POST /v1/sessions`: `{ "ttlMs": … }`. */
const MAX_SESSION_BODY_BYTES = 1024

/**
 * `POST /v1/sessions` and `DELETE /v1/sessions/current`: a browser wallet signs one request
 * and gets a bearer token that stands for it, used like an API key, until it expires or is
 * revoked. Only a wallet signature opens one: an API key's holder has a key already, and a
 * session's token must not buy another session (it would outlive its expiry).
 */
export function registerSessionRoutes(options: {
  route: RegisterRoute
  sessions: WalletSessions
  /** Resolves once what was written is durable: a token is answered only after it is. */
  durable: () => Promise<void>
}): void {
  const { route, sessions } = options

  route(
    {
      method: 'post',
      path: '/v1/sessions',
      summary: 'Open a wallet session: a bearer token for this wallet, for one signature',
      description:
        'Authenticated by a wallet signature (x-tabswarm-* headers) and nothing else. The answer’s token works as ' +
        'Authorization: Bearer <token> for that wallet, like an API key, until expiresAt (default 12 hours, at most 24); ' +
        'the relay keeps only its sha-256. A wallet holds a few live sessions at most: one more ends its oldest. ' +
        'An expired token is refused with 401 SESSION_EXPIRED, an unknown or revoked one with 401 INVALID_SESSION.',
      auth: true,
      body: {
        contentType: 'application/json',
        schema: OpenSessionBodySchema,
        maxBytes: MAX_SESSION_BODY_BYTES,
      },
      responses: {
        201: {
          description: 'The session',
          contentType: 'application/json',
          schema: WalletSessionViewSchema,
        },
        403: {
          description: 'Not a wallet signature (an API key, a session token, the local user)',
        },
      },
    },
    async (c) => {
      const principal = c.get('principal')
      if (principal.via !== 'wallet')
        throw new ApiError(
          'FORBIDDEN',
          principal.via === 'api-key'
            ? `sessions are for wallets; ${principal.account} holds an API key already: send it as Authorization: Bearer <key>`
            : principal.via === 'wallet-session'
              ? 'a session token cannot open another session; sign POST /v1/sessions with the wallet (x-tabswarm-* headers)'
              : 'sessions are for wallets: sign POST /v1/sessions with the wallet (x-tabswarm-* headers)',
        )
      // No body at all stands for {}; a JSON one is read (and checked against the signed hash).
      const empty = c.req.raw.body == null || c.req.header('content-length') === '0'
      const raw = empty ? {} : await readJsonBody(c.req)
      const { ttlMs } = parseOrThrow(OpenSessionBodySchema, raw, 'body', 'INVALID_BODY')
      const session = await sessions.open(principal.account, ttlMs)
      await options.durable()
      c.header('cache-control', 'no-store')
      return c.json(session, 201)
    },
  )

  route(
    {
      method: 'delete',
      path: '/v1/sessions/current',
      summary: 'End the wallet session whose token this request carries',
      auth: true,
      responses: {
        204: { description: 'Ended: the token is refused from now on' },
        400: { description: 'The request carries no session token' },
      },
    },
    async (c: Context<ApiEnv>) => {
      if (c.get('principal').via !== 'wallet-session')
        throw new ApiError(
          'BAD_REQUEST',
          'this request carries no session token: send the token to end as Authorization: Bearer <token>',
        )
      const token = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? ''
      await sessions.revoke(token)
      await options.durable()
      return c.body(null, 204)
    },
  )
}
