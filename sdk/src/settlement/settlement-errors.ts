import { TabswarmError } from '@tabswarm/protocol'

/** The wallet has nothing to claim: it is in no posted root yet, or claimed all of it. */
export class NothingToClaimError extends TabswarmError {
  override name = 'NothingToClaimError' as const
  constructor(message: string) {
    super(message, { code: 'NOTHING_TO_CLAIM' })
  }
}

/**
 * The distributor refused a claim (or its transaction reverted). `reason` is the contract's
 * error name when known (`StaleRoot`, `InvalidProof`, `EnforcedPause`).
 */
export class ClaimRevertedError extends TabswarmError {
  override name = 'ClaimRevertedError' as const
  readonly reason: string | undefined
  constructor(message: string, reason: string | undefined, cause?: unknown) {
    super(message, { code: 'CLAIM_REVERTED', cause })
    this.reason = reason
  }
}

/** The wallet is on another chain than the distributor's. */
export class WrongChainError extends TabswarmError {
  override name = 'WrongChainError' as const
  readonly expected: number
  readonly actual: number
  constructor(expected: number, actual: number) {
    super(
      `the wallet is on chain ${actual}, the distributor on chain ${expected}: switch the wallet to chain ${expected}`,
      { code: 'WRONG_CHAIN' },
    )
    this.expected = expected
    this.actual = actual
  }
}

/** A settlement wait (the wallet's signature, the receipt) ran past its timeout. */
export class ClaimTimeoutError extends TabswarmError {
  override name = 'ClaimTimeoutError' as const
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'CLAIM_TIMEOUT', cause })
  }
}
