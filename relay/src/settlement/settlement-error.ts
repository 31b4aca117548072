import { type ErrorDetailsOptions, TabswarmError } from '@tabswarm/protocol'

/**
 * Why settlement failed or refused. Two kinds of codes: what the chain side raises (it stays
 * inside the relay) and what the settlement API answers with (each of those is also in the
 * protocol's `API_ERROR_STATUS`, so a route that lets one through answers with its status).
 */
export const SETTLEMENT_ERROR_CODES = [
  // The chain side (relay/src/settlement/chain/).
  /** The local development chain did not start (timeout, port in use, aborted). */
  'CHAIN_START_FAILED',
  /** The chain did not answer in time, or the caller aborted. */
  'CHAIN_TIMEOUT',
  /** The chain answered with an id other than the one configured. */
  'WRONG_CHAIN',
  /** The address configured as the distributor holds other code, or none. */
  'WRONG_CONTRACT',
  /** The distributor pays another token than the one configured. */
  'WRONG_TOKEN',
  /** The distributor's root poster is not the configured key's address. */
  'WRONG_POSTER',
  /** The distributor holds too few tokens for the total about to be posted (an API code too). */
  'UNDERFUNDED',
  /**
   * A signed transaction can never be mined: another transaction of the same key took its
   * nonce. Sign it again (with the next nonce).
   */
  'NONCE_TAKEN',
  /** A transaction the chain refused, or one that reverted. */
  'TRANSACTION_FAILED',
  // The settlement API's answers (relay/src/http/settlement-routes.ts).
  /** The relay runs without settlement (`TABSWARM_SETTLEMENT=off`). */
  'SETTLEMENT_DISABLED',
  /** No epoch with that number was closed. */
  'EPOCH_NOT_FOUND',
  /** None of the accounts asked for has anything to claim in the latest root. */
  'NOTHING_TO_CLAIM',
  /** No wallet has earned anything yet: there is no first epoch to close. */
  'NOTHING_TO_SETTLE',
  /** An epoch's root was sent and is not mined yet: the next close resumes it. */
  'EPOCH_PENDING',
  /** The chain reverted a root post; the epoch stays stored and is posted again on the next close. */
  'POST_REVERTED',
  /** The chain did not answer, or answered something the relay cannot reconcile. */
  'SETTLEMENT_UNAVAILABLE',
] as const
/** Why settlement failed or refused. */
export type SettlementErrorCode = (typeof SETTLEMENT_ERROR_CODES)[number]

/** Settlement cannot go on; the message names what differs or failed, and the fix. */
export class SettlementError extends TabswarmError {
  override name = 'SettlementError' as const
  declare readonly code: SettlementErrorCode

  constructor(code: SettlementErrorCode, message: string, options: ErrorDetailsOptions = {}) {
    super(message, { ...options, code })
  }
}
