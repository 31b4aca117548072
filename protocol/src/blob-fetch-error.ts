import type { BlobFetchErrorCode } from './error-codes.ts'
import { TabswarmError } from './tabswarm-error.ts'

/** A blob could not be fetched from one source (or, with `UNAVAILABLE`, from any). */
export class BlobFetchError extends TabswarmError {
  override name = 'BlobFetchError' as const
  declare readonly code: BlobFetchErrorCode

  constructor(code: BlobFetchErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { code, ...options })
  }
}
