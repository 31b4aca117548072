import { TabswarmError } from '@tabswarm/worker-kernels'
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/** HTTP status per error code; anything unknown is a 500 and is logged. */
const STATUS_BY_CODE: Record<string, ContentfulStatusCode> = {
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  BLOB_NOT_FOUND: 404,
  JOB_NOT_COMPLETE: 409,
  PAYLOAD_TOO_LARGE: 413,
  INVALID_JOB: 422,
  STORE_FULL: 507,
}

/** A request error with a code the client can match on and a message a person can read. */
export class ApiError extends HTTPException {
  readonly code: string
  constructor(code: keyof typeof STATUS_BY_CODE, message: string) {
    super(STATUS_BY_CODE[code], { message })
    this.code = code
  }
}

/** Every error leaves the API as `{ error: { code, message } }`. */
export function errorResponse(
  err: Error,
  c: Context,
  onUnexpected: (err: Error) => void,
): Response {
  if (err instanceof ApiError)
    return c.json({ error: { code: err.code, message: err.message } }, err.status)
  if (err instanceof HTTPException) {
    return c.json(
      { error: { code: 'HTTP_ERROR', message: err.message || 'request failed' } },
      err.status,
    )
  }
  if (err instanceof TabswarmError && err.code in STATUS_BY_CODE) {
    return c.json({ error: { code: err.code, message: err.message } }, STATUS_BY_CODE[err.code])
  }
  onUnexpected(err)
  return c.json({ error: { code: 'INTERNAL', message: 'internal error' } }, 500)
}
