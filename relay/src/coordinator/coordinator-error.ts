import { TabswarmError } from '@tabswarm/worker-kernels'

export type CoordinatorErrorCode =
  | 'INVALID_JOB'
  | 'JOB_NOT_FOUND'
  | 'JOB_NOT_COMPLETE'
  | 'BLOB_NOT_FOUND'
  | 'INSUFFICIENT_CREDITS'
  | 'NOT_OWNER'
  | 'CONTRIBUTOR_BANNED'
  | 'INVALID_AMOUNT'
  | 'LEASE_NOT_HELD'

/** A request the coordinator refuses, with a message that says why. */
export class CoordinatorError extends TabswarmError {
  override name = 'CoordinatorError' as const
  declare readonly code: CoordinatorErrorCode

  constructor(code: CoordinatorErrorCode, message: string) {
    super(message, { code })
  }
}
