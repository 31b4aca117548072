import type { Context } from 'hono'

/**
 * Puts `transform` between the client and whoever reads the request body next, without
 * reading any of it now: the body still streams, one chunk at a time, as the handler pulls.
 * An error raised by `transform` reaches the reader (`arrayBuffer()`, `json()`, a stream
 * consumer) as it is, so an `ApiError` thrown there becomes the response.
 */
export function pipeRequestBody(
  c: Context,
  transform: TransformStream<Uint8Array, Uint8Array>,
): void {
  const body = c.req.raw.body
  if (body == null) return
  c.req.raw = new Request(c.req.raw, {
    body: body.pipeThrough(transform),
    // Required by Node's fetch for a streamed request body.
    duplex: 'half',
  } as RequestInit)
}
