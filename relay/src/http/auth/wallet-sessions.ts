import { createHash, randomBytes } from 'node:crypto'
import {
  DEFAULT_SESSION_TTL_MS,
  MAX_SESSION_TTL_MS,
  SESSION_TOKEN_PREFIX,
  type WalletSessionView,
} from '@tabswarm/protocol'
import type { WalletSessionRecords } from '../../store/wallet-session-store.ts'

export interface WalletSessionsOptions {
  /**
   * Where sessions are kept: the relay's store, so a restart keeps them (and revocations);
   * for the relays of a cluster, the PostgreSQL they share, so every relay knows every session.
   */
  store: WalletSessionRecords
  /** @default Date.now */
  now?: () => number
  /** Lifetime of a session whose request names none. @default DEFAULT_SESSION_TTL_MS (12 h) */
  defaultTtlMs?: number
  /** Longest lifetime; a longer request is cut to it. @default MAX_SESSION_TTL_MS (24 h) */
  maxTtlMs?: number
  /**
   * Live sessions one wallet may hold; opening one more ends its oldest, so a dashboard
   * reloaded many times never locks its user out for hours. @default 8
   */
  maxPerAccount?: number
  /** How often expired sessions are deleted. @default 10 minutes */
  pruneEveryMs?: number
}

/** What a presented token turns out to be. */
export type SessionLookup =
  | { ok: true; account: string; expiresAt: number }
  | { ok: false; code: 'SESSION_EXPIRED' | 'INVALID_SESSION'; message: string }

/** Bearer tokens bought with one wallet signature (see `POST /v1/sessions`). */
export interface WalletSessions {
  /** Whether an `Authorization: Bearer` value is a session token (by its prefix). */
  isSessionToken(token: string): boolean
  /** Opens a session for a wallet proven by its signature; the token exists in clear only here. */
  open(account: string, ttlMs?: number): Promise<WalletSessionView>
  lookup(token: string): Promise<SessionLookup>
  /** Ends the session of this token. Returns whether there was one. */
  revoke(token: string): Promise<boolean>
}

/** 32 random bytes: 256 bits, beyond any guessing, base64url after the prefix. */
const TOKEN_BYTES = 32
const TOKEN = new RegExp(`^${SESSION_TOKEN_PREFIX}[A-Za-z0-9_-]{43}$`)

/** How long an expired session's row is kept, to answer SESSION_EXPIRED rather than INVALID_SESSION. */
const EXPIRED_KEPT_MS = 24 * 60 * 60 * 1000

const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex')

const fix =
  'open a new one: POST /v1/sessions with a wallet-signed request (the SDK’s walletSession does it for you)'

/**
 * Wallet sessions over a store: tokens are random (256 bits), kept as their sha-256 (a copy
 * of the database lets nobody in), bound to one wallet, with an expiry (default 12 h,
 * capped), and at most `maxPerAccount` live per wallet.
 *
 * A lookup is one primary-key read of the hash: equality on a hash of a 256-bit secret leaks
 * nothing useful through timing.
 */
export function createWalletSessions(options: WalletSessionsOptions): WalletSessions {
  const { store } = options
  const now = options.now ?? Date.now
  const maxTtlMs = options.maxTtlMs ?? MAX_SESSION_TTL_MS
  const defaultTtlMs = Math.min(options.defaultTtlMs ?? DEFAULT_SESSION_TTL_MS, maxTtlMs)
  const maxPerAccount = options.maxPerAccount ?? 8
  const pruneEveryMs = options.pruneEveryMs ?? 10 * 60_000
  if (!Number.isInteger(maxPerAccount) || maxPerAccount < 1)
    throw new RangeError(`maxPerAccount must be a positive integer, got ${maxPerAccount}`)
  let prunedAt = Number.NEGATIVE_INFINITY

  async function prune(at: number): Promise<void> {
    if (at - prunedAt < pruneEveryMs) return
    prunedAt = at
    // Kept a day past expiry, so a late caller hears "expired", not "unknown".
    await store.pruneSessions(at - EXPIRED_KEPT_MS)
  }

  return {
    isSessionToken: (token) => token.startsWith(SESSION_TOKEN_PREFIX),

    async open(account, ttlMs) {
      const at = now()
      await prune(at)
      const lifetime = Math.min(Math.max(1, ttlMs ?? defaultTtlMs), maxTtlMs)
      const token = `${SESSION_TOKEN_PREFIX}${randomBytes(TOKEN_BYTES).toString('base64url')}`
      const expiresAt = at + lifetime
      // The oldest live sessions make room, in the group commit of the new one (on a shared
      // PostgreSQL, one statement each: two relays opening at once may leave one extra).
      const live = await store.liveSessions(account, at)
      for (const old of live.slice(0, Math.max(0, live.length - maxPerAccount + 1)))
        await store.deleteSession(old.tokenSha256)
      await store.insertSession({
        tokenSha256: hashToken(token),
        account,
        createdAt: at,
        expiresAt,
      })
      return { token, account, expiresAt }
    },

    async lookup(token) {
      if (!TOKEN.test(token))
        return {
          ok: false,
          code: 'INVALID_SESSION',
          message: `that is not a session token of this relay (${SESSION_TOKEN_PREFIX} and 43 base64url characters); ${fix}`,
        }
      const at = now()
      await prune(at)
      const session = await store.sessionByToken(hashToken(token))
      if (session == null)
        return {
          ok: false,
          code: 'INVALID_SESSION',
          message: `the session token is not known to this relay (revoked, replaced by a newer session, expired over a day ago, or never opened); ${fix}`,
        }
      if (session.expiresAt <= at)
        return {
          ok: false,
          code: 'SESSION_EXPIRED',
          message: `the session of ${session.account} expired at ${new Date(session.expiresAt).toISOString()}; ${fix}`,
        }
      return { ok: true, account: session.account, expiresAt: session.expiresAt }
    },

    revoke: async (token) => TOKEN.test(token) && (await store.deleteSession(hashToken(token))),
  }
}
