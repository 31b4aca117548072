import { TabswarmError } from '@tabswarm/protocol'

/**
 * Why settlement refused or failed. Each code is also an HTTP API code (`API_ERROR_STATUS`),
 * so a route that lets one through answers with its status and message.
 */
export type SettlementErrorCode =
  /** The relay runs without settlement (`TABSWARM_SETTLEMENT=off`). */
  | 'SETTLEMENT_DISABLED'
  /** No epoch with that number was closed. */
  | 'EPOCH_NOT_FOUND'
  /** None of the accounts asked for has anything to claim in the latest root. */
  | 'NOTHING_TO_CLAIM'
  /** An epoch's root was sent and is not mined yet: the next close resumes it. */
  | 'EPOCH_PENDING'
  /** The chain reverted a root post; the epoch stays stored and is retried. */
  | 'POST_REVERTED'
  /** The chain did not answer, or answered something the relay cannot reconcile. */
  | 'SETTLEMENT_UNAVAILABLE'
  /** The distributor holds too few tokens to pay the new root, and this chain cannot mint. */
  | 'UNDERFUNDED'

/** A settlement refusal or failure, with a message that names the problem and the fix. */
export class SettlementError extends TabswarmError {
  override name = 'SettlementError' as const
  declare readonly code: SettlementErrorCode

  constructor(code: SettlementErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { code, ...options })
  }
}
