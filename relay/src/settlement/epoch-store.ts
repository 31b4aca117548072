import type { EpochState } from '@tabswarm/protocol'
import type { Hex, SignedTransaction } from './chain/settlement-chain.ts'

/**
 * One closed epoch as the coordinator keeps it: written (state `built`) before anything is
 * sent to the chain, then updated as the root post moves on, so a process killed at any
 * step finds on restart exactly what it had done and finishes it (see `epoch-closer.ts`).
 */
export interface StoredEpoch {
  /** 1, 2, 3…: the number the distributor's `postRoot` expects next. */
  epoch: number
  root: Hex
  /** Sum of every leaf, in token base units: what the distributor must be able to pay. */
  cumulativeTotal: bigint
  leaves: number
  /** `StandardMerkleTree.dump()` as JSON: the published tree, and the proofs' source. */
  tree: string
  state: EpochState
  /** The signed `postRoot` transaction, kept so a restart resends the very same one. */
  rawTx: Hex | null
  txHash: Hex | null
  /** ms since the Unix epoch. */
  closedAt: number
  sentAt: number | null
  confirmedAt: number | null
}

/**
 * The epochs table, part of the coordinator's store (`CoordinatorStore` extends it). Amounts
 * are stored as decimal text: a uint256 does not fit SQLite's 64-bit integers.
 *
 * Writes join the store's group commit like every other unit; the closer calls `flush()`
 * after each one, because a step must be durable before the chain sees the next.
 */
export interface EpochStore {
  /** Records a newly built epoch (state `built`); its number must be the next one. */
  insertEpoch(
    epoch: Omit<StoredEpoch, 'state' | 'rawTx' | 'txHash' | 'sentAt' | 'confirmedAt'>,
  ): void
  /** The root post is signed: state `sent`, with the transaction to resend after a crash. */
  markEpochSent(epoch: number, tx: SignedTransaction, at: number): void
  /** The signed post reverted (its nonce is spent): back to `built`, to be signed afresh. */
  markEpochBuilt(epoch: number): void
  /** The chain holds this epoch's root: state `confirmed`. */
  markEpochConfirmed(epoch: number, at: number): void
  getEpoch(epoch: number): StoredEpoch | undefined
  /** The highest-numbered epoch, whatever its state. */
  latestEpoch(): StoredEpoch | undefined
  /** The highest-numbered epoch whose root is on chain. */
  latestConfirmedEpoch(): StoredEpoch | undefined
  /** Newest first, without their trees; `before` is the number of the last epoch of the previous page. */
  listEpochs(query: { limit: number; before?: number }): Array<Omit<StoredEpoch, 'tree'>>
}
