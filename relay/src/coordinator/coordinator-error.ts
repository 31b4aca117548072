import { type CoordinatorErrorCode, TabswarmError } from '@tabswarm/protocol'

/** A request the coordinator refuses, with a message that says why. */
export class CoordinatorError extends TabswarmError {
  override name = 'CoordinatorError' as const
  declare readonly code: CoordinatorErrorCode

  constructor(code: CoordinatorErrorCode, message: string) {
    super(message, { code })
  }
}
