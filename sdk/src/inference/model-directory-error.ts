import { TabswarmError } from '@tabswarm/protocol'

/**
 * A model directory Tabswarm cannot run: a file missing or unreadable, a config or
 * checkpoint it does not support (BF16 weights, another architecture), or one larger than
 * the relay stores. The message is one line that names the file (and the tensor) and the
 * fix; `reason` is the `ModelFormatError` code behind it, when there is one.
 */
export class ModelDirectoryError extends TabswarmError {
  override name = 'ModelDirectoryError' as const
  readonly reason: string | undefined
  constructor(message: string, options: { reason?: string; cause?: unknown } = {}) {
    super(message, {
      code: 'INVALID_MODEL',
      ...(options.cause !== undefined ? { cause: options.cause } : {}),
    })
    this.reason = options.reason
  }
}
