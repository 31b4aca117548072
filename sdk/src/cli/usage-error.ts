import { TabswarmError } from '@tabswarm/protocol'

/** The command line itself is wrong: a missing argument, an unknown flag, a bad value. */
export class UsageError extends TabswarmError {
  override name = 'UsageError' as const
  constructor(message: string) {
    super(message, { code: 'USAGE' })
  }
}
