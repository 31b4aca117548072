import { TabswarmError } from '@tabswarm/worker-kernels'
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/** HTTP status per error code; anything unknown is a 500 and is logged. */
export const STATUS_BY_CODE = {
  BAD_REQUEST: 400,
  INVALID_BODY: 400,
  INVALID_QUERY: 400,
  INVALID_ID: 400,
  BAD_HASH: 400,
  INVALID_AMOUNT: 400,
  BODY_HASH_MISMATCH: 400,
  AUTH_REQUIRED: 401,
  INVALID_API_KEY: 401,
  INVALID_SIGNATURE: 401,
  SIGNATURE_EXPIRED: 401,
  SIGNATURE_REPLAYED: 401,
  SIGNATURE_OUTDATED: 401,
  WRONG_RELAY: 401,
  FORBIDDEN: 403,
  NOT_OWNER: 403,
  CONTRIBUTOR_BANNED: 403,
  NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  BLOB_NOT_FOUND: 404,
  ACCOUNT_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  JOB_NOT_COMPLETE: 409,
  JOB_FINISHED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_JOB: 422,
  INSUFFICIENT_CREDITS: 402,
  RATE_LIMITED: 429,
  UPLOADS_BUSY: 429,
  AUTH_BUSY: 503,
  RELAY_BUSY: 503,
  STORE_FULL: 507,
} as const satisfies Record<string, ContentfulStatusCode>

export type ApiErrorCode = keyof typeof STATUS_BY_CODE

/** A request error with a code the client can match on and a message a person can read. */
export class ApiError extends HTTPException {
  readonly code: ApiErrorCode
  /** Extra response headers, e.g. `Retry-After` or `WWW-Authenticate`. */
  readonly headers: Record<string, string>
  constructor(code: ApiErrorCode, message: string, headers: Record<string, string> = {}) {
    super(STATUS_BY_CODE[code], { message })
    this.code = code
    this.headers = headers
  }
}

const isKnownCode = (code: unknown): code is ApiErrorCode =>
  typeof code === 'string' && Object.hasOwn(STATUS_BY_CODE, code)

/** Every error leaves the API as `{ error: { code, message } }`. */
export function errorResponse(
  err: Error,
  c: Context,
  onUnexpected: (err: Error) => void,
): Response {
  if (err instanceof ApiError) {
    for (const [name, value] of Object.entries(err.headers)) c.header(name, value)
    return c.json({ error: { code: err.code, message: err.message } }, err.status)
  }
  if (err instanceof HTTPException) {
    return c.json(
      { error: { code: 'HTTP_ERROR', message: err.message || 'request failed' } },
      err.status,
    )
  }
  // Errors from the coordinator and stores carry codes this table knows.
  if (err instanceof TabswarmError && isKnownCode(err.code)) {
    return c.json({ error: { code: err.code, message: err.message } }, STATUS_BY_CODE[err.code])
  }
  onUnexpected(err)
  return c.json({ error: { code: 'INTERNAL', message: 'internal error' } }, 500)
}
