import type {
  JobSpec,
  JobStatus,
  TaskResultRecord,
  TensorRef,
  VerificationMethod,
} from '@tabswarm/protocol'
import type { EpochStore } from '../settlement/epoch-store.ts'
import type { UsedNonces } from './used-nonces.ts'
import type { WalletSessionStore } from './wallet-session-store.ts'

/**
 * The coordinator's durable state, as operations on jobs, tasks, results, contributors and
 * the ledger rather than as SQL. The embedded implementation is SQLite (`sqlite-store.ts`);
 * a PostgreSQL one can implement the same operations.
 *
 * It also keeps the nonces of wallet-signed API requests ({@link UsedNonces}): a claim is
 * one unit of work, committed in the same group as (or before) whatever the request then
 * changes, so a crash never keeps a request's effect and loses its nonce. And it keeps the
 * settlement epochs ({@link EpochStore}) beside the ledger they pay out, and the wallet
 * sessions of the API ({@link WalletSessionStore}).
 *
 * Every call made inside `transaction(fn)` commits together or not at all. Calls are
 * synchronous so the coordinator's hot path stays synchronous on the embedded store; a
 * networked store would keep the same unit-of-work shape behind an async coordinator.
 */
export interface CoordinatorStore extends UsedNonces, EpochStore, WalletSessionStore {
  /**
   * Runs `fn` as one atomic unit: all of its changes or none. Units may be committed in
   * groups (group commit): a unit is durable once `flushed()` resolves. Nested calls join
   * the outer unit.
   */
  transaction<T>(fn: () => T): T
  /**
   * Resolves when every unit run so far is committed durably; rejects if their commit
   * failed. Calls while one group is open return the same promise: its identity names the
   * group.
   */
  flushed(): Promise<void>
  /** Commits the open group now (tests, shutdown). */
  flush(): void

  insertJob(job: StoredJob): void
  updateJob(id: string, patch: JobPatch): void
  getJob(id: string): StoredJob | undefined
  /**
   * Newest first; `before` is the `seq` of the last job of the previous page; `idPrefix`:
   * only jobs whose id starts with it (compared as a string, not a pattern).
   */
  listJobs(query: {
    owner?: string
    status?: JobStatus
    idPrefix?: string
    limit: number
    before?: number
  }): StoredJob[]
  runningJobs(): StoredJob[]
  countJobsByStatus(): Record<JobStatus, number>

  /** Indices of the job's accepted tasks. */
  acceptedTasks(jobId: string): number[]
  /** Records the accepted result of a task (at most one per task). Returns its `seq`. */
  insertResult(result: StoredResult): number
  /** The accepted result of one task, if any (at most one), provisional or not. */
  resultsOfTask(jobId: string, taskIndex: number): StoredResult[]
  /** The job's provisional results (see `StoredResult.provisional`), in acceptance order. */
  provisionalResults(jobId: string): StoredResult[]
  /** Undoes a task's acceptance: its result row is gone. Returns whether there was one. */
  deleteResult(jobId: string, taskIndex: number): boolean
  /**
   * A provisional result is confirmed: written again as published, under a new `seq` (so a
   * reader whose cursor passed its old one still reads it). Returns the new `seq`, or
   * undefined when the task holds no provisional result.
   */
  confirmResult(jobId: string, taskIndex: number): number | undefined
  /**
   * Everyone holding pending credit, by job: who is paid when each running job ends. Read
   * once at restart, in one pass (the results table names only the first of agreeing
   * replicas, so the pending accounts are the record).
   */
  pendingPayees(): Map<string, string[]>
  /** The accepted result recorded for a lease (provisional or not), for idempotent acceptance. */
  resultByLease(leaseId: string): StoredResult | undefined
  /**
   * A job's accepted results (provisional ones too) counted by how they were verified, when
   * the first and the last were accepted, and how many were accepted at or after `since`:
   * what a job's detail shows, read from the rows so that it survives a restart.
   */
  resultSummary(jobId: string, since: number): ResultSummary
  /** Published (not provisional) results after `seq` `after`, in `seq` order. */
  results(jobId: string, after: number, limit: number): TaskResultRecord[]

  getContributor(id: string): StoredContributor | undefined
  putContributor(contributor: StoredContributor): void
  /** Ban keys are `peer:<id>`, `wallet:<address>` or `address:<network key>`. */
  addBan(key: string, reason: string, at: number): void
  isBanned(key: string): boolean
  /** Peer ids, wallets and addresses banned. */
  countBans(): number
  /**
   * Counts one more fault against a wallet (`wallet:<address>`) or a network address
   * (`address:<network key>`), whichever peer id it came through. Returns the new count.
   */
  addFault(key: string): number

  /** Keeps small content-addressed bytes with the rest of the state (see `tiered-blob-store.ts`). */
  /** Returns whether the blob is new (false: it was held already, and is left as it was). */
  putBlob(hash: string, bytes: Uint8Array): boolean
  getBlob(hash: string): Uint8Array | undefined
  hasBlob(hash: string): boolean
  /** Bytes held by `putBlob`. */
  blobBytes(): number

  /**
   * Moves credits between two accounts: one row, both balances updated. Amounts are exact
   * integers; a move that would take a balance past a signed 64-bit integer (what SQLite
   * keeps exactly) throws a `RangeError` and changes nothing.
   */
  transfer(entry: LedgerEntry): void
  /** The transfer recorded under `ref`, if any (refs are unique). */
  transferByRef(ref: string): LedgerEntry | undefined
  balance(account: string): bigint
  /** Accounts whose name starts with `prefix`, with a non-zero balance. */
  balancesWithPrefix(prefix: string): Array<{ account: string; balance: bigint }>
  /** Sum of every transfer of one of `kinds` credited to `account`. */
  creditedTotal(account: string, kinds: readonly LedgerKind[]): bigint
  /**
   * Sum of every transfer of one of `kinds` credited to each account whose name starts with
   * `prefix`, in one pass: accounts with none are left out.
   */
  creditedTotals(
    kinds: readonly LedgerKind[],
    prefix: string,
  ): Array<{ account: string; total: bigint }>
  /** Sum of every balance: zero in a double-entry ledger. */
  ledgerImbalance(): bigint
  /**
   * Sum of every transfer of one of `kinds`, ever, to any account: read from running totals
   * kept with each transfer, so it costs the same whatever the ledger's size. Totals are kept
   * of the kinds that move once per job or less (grant, escrow, payout, site-share, refund);
   * another kind throws a `RangeError`.
   */
  transferredTotal(kinds: readonly LedgerKind[]): bigint

  /**
   * Adds accepted work to the UTC hour that starts at `hour` (ms since the epoch, a multiple
   * of an hour); negative amounts take back an acceptance that was undone. Runs inside the
   * caller's transaction, beside the acceptance it counts.
   */
  addCompute(hour: number, gflop: number, tasks: number): void
  /** Hours from `from` to `to` (hour starts, both included) that hold work, oldest first. */
  computeHours(from: number, to: number): ComputeHourRow[]
  /** All accepted work counted, ever. */
  computeTotal(): { gflop: number; tasks: number }

  close(): void
}

/** Accepted work of one UTC hour. */
export interface ComputeHourRow {
  /** Start of the hour, ms since the epoch. */
  hour: number
  gflop: number
  tasks: number
}

export interface StoredJob {
  id: string
  /** Insertion order, for stable pagination. */
  seq: number
  owner: string
  spec: JobSpec
  kernel: 'matmul' | 'custom' | 'inference'
  status: JobStatus
  priority: number
  deadline?: number
  /** Matmul: output tile edges chosen at submit. */
  tileRows?: number
  tileCols?: number
  totalTasks: number
  acceptedTasks: number
  rejectedResults: number
  /** Credits per accepted task replica, fixed at submit. */
  taskCredits: bigint
  budget: bigint
  spent: bigint
  refunded: bigint
  createdAt: number
  /** When its first task was leased; absent until then. */
  firstLeaseAt?: number
  /**
   * Canary leases of this job answered right: a re-run of an accepted task checked against
   * its known answer. Not results of the job's tasks, so not in the results table. @default 0
   */
  canariesAccepted?: number
  /**
   * Inference: tasks closed without running because their sequence ended (a stop token,
   * `maxNewTokens`, the context): the job completes when accepted + closed = total. @default 0
   */
  closedTasks?: number
  finishedAt?: number
  error?: string
}

export type JobPatch = Partial<
  Pick<
    StoredJob,
    | 'status'
    | 'acceptedTasks'
    | 'rejectedResults'
    | 'spent'
    | 'refunded'
    | 'finishedAt'
    | 'error'
    | 'firstLeaseAt'
    | 'canariesAccepted'
    | 'closedTasks'
  >
>

/** A job's accepted results in figures (see `CoordinatorStore.resultSummary`). */
export interface ResultSummary {
  /** Accepted results by verification method; a method none was accepted by is absent. */
  methods: Partial<Record<VerificationMethod, number>>
  firstAcceptedAt?: number
  lastAcceptedAt?: number
  /** Accepted at or after the `since` asked for. */
  acceptedSince: number
}

export interface StoredResult {
  jobId: string
  taskIndex: number
  taskId: string
  leaseId: string
  /** Who is paid: a wallet address or `peer:<id>`. */
  payee: string
  peerId: string
  outputs: TensorRef[]
  method: VerificationMethod
  acceptedAt: number
  seq?: number
  /**
   * Accepted on its contributor's credibility alone (`trusted`) and not confirmed since by
   * an independent check: hidden from readers, and undone if that contributor is caught
   * before the job ends (backtracking). Absent: published.
   */
  provisional?: true
  /**
   * The contributor's signature of `resultSigningBytes(taskId, sha256)`, base64: decoder
   * tasks carry one, so whoever produced an accepted stage's bytes stays attributable.
   */
  signature?: string
}

export interface StoredContributor {
  /** The libp2p peer id. */
  id: string
  payee: string
  /** Results verified correct since the last fault: the credibility evidence. */
  verified: number
  faults: number
  banned: boolean
  lastSeen: number
}

/**
 * Why credits moved. `payout` is a contributor's earnings reaching its account when a job
 * ends; `site-share` is the part of them that goes to the site it contributed through.
 */
export type LedgerKind =
  | 'grant'
  | 'escrow'
  | 'pay'
  | 'payout'
  | 'site-share'
  | 'forfeit'
  | 'refund'
  | 'canary'

export interface LedgerEntry {
  from: string
  to: string
  amount: bigint
  kind: LedgerKind
  jobId?: string
  at: number
  /** Unique per operation where a repeat must not pay twice (e.g. `pay:<leaseId>`). */
  ref?: string
}
