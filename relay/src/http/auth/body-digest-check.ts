import { createHash } from 'node:crypto'
import { ApiError } from '../error-response.ts'

/**
 * Hashes a request body as it streams through and, at its end, errors the stream instead
 * of ending it when the sha-256 is not the signed one: the reader (a JSON parser, a blob
 * store writing a temp file) never sees a complete body that was not the one signed, and
 * nothing is buffered here.
 *
 * @param expectedHex 64 lower-case hex digits, the signed `x-tabswarm-content-sha256`.
 */
export function bodyDigestCheck(expectedHex: string): TransformStream<Uint8Array, Uint8Array> {
  const hash = createHash('sha256')
  return new TransformStream({
    transform(chunk, controller) {
      hash.update(chunk)
      controller.enqueue(chunk)
    },
    flush(controller) {
      const actual = hash.digest('hex')
      if (actual !== expectedHex)
        controller.error(
          new ApiError(
            'BODY_HASH_MISMATCH',
            `the body's sha-256 is ${actual}, not the signed x-tabswarm-content-sha256 0x${expectedHex}; sign the bytes you send`,
          ),
        )
    },
  })
}
