import { API_ERROR_STATUS, type ApiErrorCode, TabswarmError } from '@tabswarm/protocol'
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/** HTTP status per error code (the API's table in `@tabswarm/protocol`); anything unknown is a 500 and is logged. */
const STATUS_BY_CODE: Readonly<Record<ApiErrorCode, ContentfulStatusCode>> = API_ERROR_STATUS

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
