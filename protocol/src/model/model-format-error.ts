import type { ModelFormatErrorCode } from '../error-codes.ts'
import type { ErrorDetailsOptions } from '../tabswarm-error.ts'
import { TabswarmError } from '../tabswarm-error.ts'

/**
 * A model file (`config.json`, a safetensors header, an index) Tabswarm cannot use. Model
 * files are untrusted input: every refusal says which field or tensor is wrong and what
 * to do about it; `code` says why (`UNSUPPORTED_OPTION`, `BAD_TENSOR_RANGE`, ...).
 */
export class ModelFormatError extends TabswarmError {
  override name = 'ModelFormatError' as const
  declare readonly code: ModelFormatErrorCode

  constructor(message: string, options: ErrorDetailsOptions & { code: ModelFormatErrorCode }) {
    super(message, options)
  }
}
