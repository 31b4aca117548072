import { TabswarmError } from '@tabswarm/protocol'

/** Why a task's input could not be used. */
export type InputFetchErrorCode =
  /** The bytes a source delivered do not hash to the ref's sha-256, or are the wrong length. */
  | 'INPUT_MISMATCH'
  /** No source served the input. */
  | 'INPUT_UNAVAILABLE'
  /** The inputs were not all fetched within the task's kernel deadline. */
  | 'INPUT_TIMEOUT'

/**
 * A task's input could not be fetched or was refused. Reported to the relay as the task's
 * error (`task-error` with this code): the task goes to another contributor.
 */
export class InputFetchError extends TabswarmError {
  override name = 'InputFetchError' as const
  declare readonly code: InputFetchErrorCode

  constructor(code: InputFetchErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { code, ...options })
  }
}
