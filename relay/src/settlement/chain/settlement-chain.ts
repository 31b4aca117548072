import type { ClaimProof } from '@tabswarm/protocol'

export type Address = `0x${string}`
export type Hex = `0x${string}`

/** The distributor's state on chain, as one read sees it. */
export interface DistributorState {
  /** Latest epoch posted (0 before the first). */
  epoch: number
  merkleRoot: Hex
  /** Sum of the latest root's leaves. */
  cumulativeTotal: bigint
  /** Paid out over all claims. */
  totalClaimed: bigint
  /** Token balance the distributor holds. */
  balance: bigint
}

/** A transaction signed but perhaps not yet sent: stored before sending, so a restart can resend it. */
export interface SignedTransaction {
  hash: Hex
  raw: Hex
}

/** What became of a sent transaction. */
export type TransactionOutcome = 'mined' | 'reverted' | 'unknown'

/**
 * The settlement contracts as the coordinator uses them: read the distributor, fund it, post
 * roots, submit claims. `viem-settlement-chain.ts` implements it over a JSON-RPC URL and the
 * poster's key; unit tests inject a fake through the same interface. Every call takes an
 * AbortSignal and gives up with a clear error when the chain does not answer.
 */
export interface SettlementChain {
  chainId: number
  distributor: Address
  token: Address
  /** The key that posts roots (and, on a development chain, mints the credit token). */
  poster: Address
  tokenInfo(signal: AbortSignal): Promise<{ symbol: string; decimals: number }>
  state(signal: AbortSignal): Promise<DistributorState>
  /** What `account` has been paid over all its claims. */
  claimed(account: Address, signal: AbortSignal): Promise<bigint>
  /**
   * Makes sure the distributor can pay `cumulativeTotal` (its balance plus what it paid):
   * on a development chain mints the shortfall; elsewhere throws a `SettlementError` naming
   * the shortfall and the transfer that fixes it. Idempotent: mints only what is missing now.
   */
  ensureFunded(cumulativeTotal: bigint, signal: AbortSignal): Promise<void>
  /**
   * Signs `postRoot(epoch, root, cumulativeTotal)` with the poster's key and its pending nonce,
   * without sending it. Throws a `SettlementError` naming the contract's error when the post
   * would revert now (e.g. `WrongEpoch`, `Underfunded`).
   */
  signPostRoot(
    epoch: number,
    root: Hex,
    cumulativeTotal: bigint,
    signal: AbortSignal,
  ): Promise<SignedTransaction>
  /**
   * Broadcasts a signed transaction; a transaction the chain already has (or mined) is not an
   * error, so resending after a restart is harmless. Throws a `SettlementError` with code
   * `NONCE_TAKEN` when another transaction of the poster took its nonce: it can never be
   * mined, so sign it again.
   */
  send(tx: SignedTransaction, signal: AbortSignal): Promise<void>
  /** Waits up to `timeoutMs` for the transaction's receipt; `unknown` when none came. */
  outcome(hash: Hex, signal: AbortSignal, timeoutMs: number): Promise<TransactionOutcome>
  /**
   * Sends `claimMany` (or `claim` for one) for these proofs, all against one root, paying gas
   * from the poster's key; resolves with the transaction's hash once it is mined, throws a
   * `SettlementError` when it is refused or reverts (e.g. `StaleRoot` after a newer root).
   */
  submitClaims(claims: ClaimProof[], signal: AbortSignal): Promise<Hex>
}
