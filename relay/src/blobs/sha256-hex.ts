import { createHash } from 'node:crypto'

/**
 * The sha-256 of `bytes`, lower-case hex: the content address of a blob in every store,
 * and of a job part (a matmul band) the relay serves beside them. Synchronous, for the
 * relay's hot paths (a result stored, a band registered); the browser-safe async form is
 * `sha256Hex` of `@tabswarm/protocol`.
 */
export function sha256HexSync(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}
