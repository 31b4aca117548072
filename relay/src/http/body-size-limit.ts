import type { MiddlewareHandler } from 'hono'
import type { ApiEnv } from './api-env.ts'
import { ApiError } from './error-response.ts'
import { pipeRequestBody } from './pipe-request-body.ts'

/**
 * Refuses a body over `maxBytes` without buffering it: a declared `Content-Length` over the
 * limit is refused from the headers, before a byte is read; a body without one (chunked)
 * is counted as it streams and cut at the limit. Hono's own `bodyLimit` reads a chunked
 * body whole before the next handler runs, authentication included, which let anyone make
 * the relay buffer up to the limit per request.
 */
export function bodySizeLimit(maxBytes: number): MiddlewareHandler<ApiEnv> {
  const tooLarge = (what: string) =>
    new ApiError(
      'PAYLOAD_TOO_LARGE',
      `${what} exceeds this route's limit of ${maxBytes} bytes; send less (split the input into several blobs)`,
    )
  return async (c, next) => {
    const declared = c.req.header('content-length')
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (!/^\d{1,16}$/.test(declared))
        throw new ApiError(
          'BAD_REQUEST',
          `Content-Length must be a byte count, got "${declared.slice(0, 20)}"`,
        )
      if (Number(declared) > maxBytes) throw tooLarge(`the body (Content-Length ${declared})`)
      // Node's HTTP parser ends the body at Content-Length: it cannot run past the check.
      await next()
      return
    }
    let seen = 0
    pipeRequestBody(
      c,
      new TransformStream({
        transform(chunk, controller) {
          seen += chunk.byteLength
          if (seen > maxBytes) controller.error(tooLarge('the body'))
          else controller.enqueue(chunk)
        },
      }),
    )
    await next()
  }
}
