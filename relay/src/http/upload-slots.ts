import type { MiddlewareHandler } from 'hono'
import type { ApiEnv } from './api-env.ts'
import { ApiError } from './error-response.ts'

/** Uploads one account may have in flight at once, unless configured. */
export const DEFAULT_UPLOADS_PER_ACCOUNT = 4
/** Uploads in flight on the whole relay, unless configured. */
export const DEFAULT_UPLOADS_TOTAL = 16

export interface UploadSlotsOptions {
  /** Uploads one account may have in flight at once. @default DEFAULT_UPLOADS_PER_ACCOUNT (4) */
  perAccount?: number
  /** Uploads in flight on the whole relay. @default DEFAULT_UPLOADS_TOTAL (16) */
  total?: number
}

/**
 * Bounds the uploads being received at once, per account and in all: each holds a file
 * descriptor, a temp file and a socket for as long as its client takes to send, so a few
 * slow or hostile clients must not hold them all. Over the account's share: 429; over the
 * relay's: 503; both with `Retry-After`. Runs after authentication (the account is known)
 * and before any body byte is read.
 */
export function uploadSlots(options: UploadSlotsOptions = {}): MiddlewareHandler<ApiEnv> {
  const perAccount = options.perAccount ?? DEFAULT_UPLOADS_PER_ACCOUNT
  const total = options.total ?? DEFAULT_UPLOADS_TOTAL
  const byAccount = new Map<string, number>()
  let inFlight = 0
  return async (c, next) => {
    const account = c.get('principal').account
    const mine = byAccount.get(account) ?? 0
    if (mine >= perAccount)
      throw new ApiError(
        'UPLOADS_BUSY',
        `account ${account} already has ${mine} uploads in flight (at most ${perAccount}); wait for one to finish`,
        { 'retry-after': '1' },
      )
    if (inFlight >= total)
      throw new ApiError(
        'RELAY_BUSY',
        `the relay is receiving ${inFlight} uploads (at most ${total}); retry shortly`,
        { 'retry-after': '1' },
      )
    byAccount.set(account, mine + 1)
    inFlight++
    try {
      await next()
    } finally {
      inFlight--
      const left = (byAccount.get(account) ?? 1) - 1
      if (left > 0) byAccount.set(account, left)
      else byAccount.delete(account)
    }
  }
}
