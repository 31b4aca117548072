import { TabswarmError } from './tabswarm-error.ts'

/** Codes carried by {@link ProtocolError} and by `error` messages on the wire. */
export type ProtocolErrorCode =
  | 'MALFORMED_FRAME'
  | 'MESSAGE_TOO_LARGE'
  | 'INVALID_MESSAGE'
  | 'UNEXPECTED_MESSAGE'
  | 'PAYLOAD_MISMATCH'
  | 'PEER_BUDGET_EXCEEDED'
  | 'STREAM_IDLE'
  | 'REMOTE_ERROR'

/** A peer sent something that breaks the wire protocol. Closes only the stream it came on. */
export class ProtocolError extends TabswarmError {
  override name = 'ProtocolError' as const
  declare readonly code: ProtocolErrorCode

  constructor(code: ProtocolErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { code, ...options })
  }
}
