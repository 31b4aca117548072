import type { CoordinatorStore } from './coordinator-store.ts'

/**
 * The operations of `CoordinatorStore` that change state. A coordinator on a shared
 * PostgreSQL keeps its working set in an in-memory store (fast, synchronous: the hot path)
 * and records each of these calls, in order, as a journal entry; when a group of units
 * commits there, its journal is applied to PostgreSQL in one transaction, fenced by the
 * ownership tokens of the jobs it touches (`relay/src/cluster/`). Everything else on the
 * interface only reads.
 */
export const JOURNALED_OPS = [
  'insertJob',
  'updateJob',
  'insertResult',
  'deleteResult',
  'confirmResult',
  'putContributor',
  'addBan',
  'addFault',
  'putBlob',
  'transfer',
  'addCompute',
  'claimNonce',
  'pruneNonces',
  'insertEpoch',
  'markEpochSent',
  'markEpochBuilt',
  'markEpochConfirmed',
  'insertSession',
  'deleteSession',
  'pruneSessions',
] as const satisfies ReadonlyArray<keyof CoordinatorStore>

export type JournaledOp = (typeof JOURNALED_OPS)[number]

/**
 * One recorded call: its arguments (copied when recorded: callers mutate the objects they
 * pass later) and what the in-memory store returned. `insertResult` and `confirmResult`
 * return the `seq` the result got there: PostgreSQL stores the same, so a reader's cursor
 * means the same on every relay.
 */
export type JournalEntry = {
  [K in JournaledOp]: {
    op: K
    args: Parameters<CoordinatorStore[K]>
    result: ReturnType<CoordinatorStore[K]>
  }
}[JournaledOp]
