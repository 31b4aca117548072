import { TabswarmError } from './tabswarm-error.ts'

/** Why a blob fetch failed. */
export type BlobFetchErrorCode =
  /** The peer does not hold the blob. */
  | 'NOT_FOUND'
  /** The bytes received do not hash to the sha-256 asked for. */
  | 'HASH_MISMATCH'
  /** The blob is larger than the caller (or the protocol) accepts. */
  | 'TOO_LARGE'
  /** The stream ended before the announced size arrived, or ran past it. */
  | 'TRUNCATED'
  /** No chunk arrived within the idle timeout. */
  | 'TIMEOUT'
  /** The peer answered with an `error` message. */
  | 'REMOTE_ERROR'
  /** No peer and no relay could serve the blob. */
  | 'UNAVAILABLE'

/** A blob could not be fetched from one source (or, with `UNAVAILABLE`, from any). */
export class BlobFetchError extends TabswarmError {
  override name = 'BlobFetchError' as const
  declare readonly code: BlobFetchErrorCode

  constructor(code: BlobFetchErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { code, ...options })
  }
}
