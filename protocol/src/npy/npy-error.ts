import type { NpyErrorCode } from '../error-codes.ts'
import { TabswarmError } from '../tabswarm-error.ts'

/** A `.npy` file Tabswarm cannot read or write; `code` says why (`UNSUPPORTED_DTYPE`, ...). */
export class NpyError extends TabswarmError {
  override name = 'NpyError' as const
  declare readonly code: NpyErrorCode

  constructor(message: string, options: { code: NpyErrorCode; cause?: unknown }) {
    super(message, options)
  }
}
