/**
 * Wallet sessions (`POST /v1/sessions`): one wallet-signed request buys a bearer token that
 * stands for that wallet until it expires, so a browser wallet (EIP-1193) asks its user to
 * sign once, not on every request of a live dashboard.
 */
import { z } from 'zod'

/** Prefix of session tokens, so the relay tells them from API keys without a lookup. */
export const SESSION_TOKEN_PREFIX = 'tss_'

/** How long a session lasts when the request names no `ttlMs`: 12 hours. */
export const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60 * 1000

/** The longest session a relay opens: 24 hours. A longer one is cut to this. */
export const MAX_SESSION_TTL_MS = 24 * 60 * 60 * 1000

/** Shortest session: one minute. */
export const MIN_SESSION_TTL_MS = 60 * 1000

/** The body of `POST /v1/sessions` (it may be empty: `{}`). */
export const OpenSessionBodySchema = z.strictObject({
  ttlMs: z.number().int().min(MIN_SESSION_TTL_MS).max(MAX_SESSION_TTL_MS).optional().meta({
    description: 'How long the session lasts, ms (1 minute to 24 hours; default 12 hours)',
  }),
})
/** The body of `POST /v1/sessions`. */
export type OpenSessionBody = z.infer<typeof OpenSessionBodySchema>

/** The answer of `POST /v1/sessions`: the token is shown this once (the relay keeps its hash). */
export const WalletSessionViewSchema = z.object({
  token: z.string().meta({
    description: 'Send as Authorization: Bearer <token>; the relay keeps only its sha-256',
  }),
  account: z.string().meta({ description: 'The wallet (checksummed) the token stands for' }),
  expiresAt: z
    .number()
    .int()
    .meta({ description: 'When the token stops working, ms since the epoch' }),
})
/** The answer of `POST /v1/sessions`. */
export type WalletSessionView = z.infer<typeof WalletSessionViewSchema>
