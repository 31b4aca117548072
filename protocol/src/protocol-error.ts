import type { ProtocolErrorCode } from './error-codes.ts'
import { TabswarmError } from './tabswarm-error.ts'

/** A peer sent something that breaks the wire protocol. Closes only the stream it came on. */
export class ProtocolError extends TabswarmError {
  override name = 'ProtocolError' as const
  declare readonly code: ProtocolErrorCode

  constructor(code: ProtocolErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { code, ...options })
  }
}
