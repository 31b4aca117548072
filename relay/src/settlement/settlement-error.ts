import { type ErrorDetailsOptions, TabswarmError } from '@tabswarm/protocol'

/**
 * Why settlement on chain failed. The codes stay inside the relay (no peer or API client
 * matches on them yet), so they live here rather than in the protocol's code tables.
 */
export const SETTLEMENT_ERROR_CODES = [
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
  /** The distributor holds too few tokens for the total about to be posted. */
  'UNDERFUNDED',
  /**
   * A signed transaction can never be mined: another transaction of the same key took its
   * nonce. Sign it again (with the next nonce).
   */
  'NONCE_TAKEN',
  /** A transaction the chain refused, or one that reverted. */
  'TRANSACTION_FAILED',
] as const
/** Why settlement on chain failed. */
export type SettlementErrorCode = (typeof SETTLEMENT_ERROR_CODES)[number]

/** Settlement cannot go on; the message names what differs or failed, and the fix. */
export class SettlementError extends TabswarmError {
  override name = 'SettlementError' as const
  declare readonly code: SettlementErrorCode

  constructor(code: SettlementErrorCode, message: string, options: ErrorDetailsOptions = {}) {
    super(message, { ...options, code })
  }
}
