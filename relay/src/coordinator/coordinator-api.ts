import type {
  AccountCredits,
  Capabilities,
  CustomProgram,
  DecoderGenerateProgram,
  DecoderStageProgram,
  InferenceOutput,
  InputRef,
  JobDetail,
  JobList,
  JobQuote,
  JobSpec,
  JobStatus,
  JobView,
  LeaseJob,
  ResultsPage,
  TaskResultRecord,
  TensorDtype,
  TokensEvent,
  Verdict,
  VerificationMethod,
} from '@tabswarm/protocol'
import type { CoordinatorError } from './coordinator-error.ts'
import type { ResultProof } from './inference/result-signature-check.ts'
import type { NetworkFigures } from './network-figures.ts'

/**
 * The coordinator as the HTTP API, the CLI and the work service see it. Researcher-facing
 * methods return promises, so a coordinator whose state lives in a database server can
 * implement the same interface; the embedded one resolves them at once. The views it
 * answers with (`JobView`, `TaskResultRecord`, `AccountView`, ...) are the HTTP API's,
 * defined once in `@tabswarm/protocol`.
 */

/** A matmul's dimensions: C (m×n) = A (m×k) · B (k×n). */
export interface MatmulArgs {
  m: number
  k: number
  n: number
}

/** Who submits and pays for a job: an API-key account or a wallet address. */
export interface JobOwner {
  account: string
}

export type JobEvent =
  | { type: 'progress'; job: JobView }
  | { type: 'result'; job: JobView; result: TaskResultRecord }
  | { type: 'completed'; job: JobView }
  | { type: 'failed'; job: JobView }
  | { type: 'cancelled'; job: JobView }
  /** An inference job's sequence got accepted tokens (SSE `event: tokens`, data: the `TokensEvent`). */
  | { type: 'tokens'; job: JobView; tokens: TokensEvent }

export interface JobQuery {
  owner?: string
  status?: JobStatus
  /**
   * Only jobs whose id starts with this (1-64 of `[A-Za-z0-9_-]`, compared as a string):
   * how a person names a job by the first characters of its id, as git does commits.
   */
  idPrefix?: string
  /** @default 50, at most 500 */
  limit?: number
  /** `nextCursor` of the previous page. */
  cursor?: string
}

/** Outcome of a result as the contributor is told it. */
export type ResultOutcomeKind = 'accepted' | 'pending' | 'rejected' | 'stale'

/** Gauges and counters for `/metrics`, read at scrape time. */
export interface CoordinatorStats {
  gauges: {
    /** Task replicas waiting for a contributor. */
    queueDepth: number
    activeLeases: number
    contributorsOnline: number
    /** Ban entries in the store: peer ids, wallets and network addresses. */
    bannedContributors: number
    jobs: Record<JobStatus, number>
  }
  /** Monotonic since this coordinator started (in memory: a restart begins them at zero). */
  counters: {
    tasksDispatched: number
    /** Results received, by outcome and by how they were verified (`method` is `none` for stale). */
    results: Array<{
      outcome: ResultOutcomeKind
      method: VerificationMethod | 'none'
      count: number
    }>
    creditsPaid: bigint
    creditsRefunded: bigint
    canariesIssued: number
    spotChecks: number
    /** Floating-point operations the coordinator spent recomputing results. */
    spotCheckedFlops?: number
    bans: number
    /**
     * Verdicts of pending results dropped unsent because their contributor's queue was full
     * (it stopped asking while many of its results were decided).
     */
    verdictsDropped?: number
  }
}

/** The researcher-facing coordinator that the HTTP API calls. */
export interface CoordinatorApi {
  /** Prices a spec without submitting it. Throws `CoordinatorError` (`INVALID_JOB`, `BLOB_NOT_FOUND`). */
  quote(spec: JobSpec): Promise<JobQuote>
  /**
   * Validates the spec (blobs present, sizes as declared, caps), escrows its budget from
   * the owner's balance and queues its tasks. Throws `CoordinatorError` with code
   * `INVALID_JOB`, `BLOB_NOT_FOUND` or `INSUFFICIENT_CREDITS`.
   */
  submit(spec: JobSpec, owner: JobOwner): Promise<JobView>
  /** Throws `CoordinatorError('JOB_NOT_FOUND')`. */
  getJob(id: string): Promise<JobView>
  listJobs(query?: JobQuery): Promise<JobList>
  /**
   * A job in detail: its tasks by state, how its results were verified, its flops, timings,
   * throughput and recent history. Throws `CoordinatorError('JOB_NOT_FOUND')`.
   */
  jobDetail(id: string): Promise<JobDetail>
  /**
   * Stops a running job's tasks and refunds unspent escrow. Throws
   * `CoordinatorError('JOB_FINISHED')` for a job that has already ended (nothing is stopped
   * or refunded then), and, with `owner`, `CoordinatorError('NOT_OWNER')` for someone
   * else's job.
   */
  cancel(id: string, owner?: JobOwner): Promise<JobView>
  /**
   * Published results after `after` (a `seq`), oldest first; unconfirmed trusted-only
   * acceptances are not among them yet (see `TaskResultRecord`).
   * @default after 0, limit 100 (max 1000)
   */
  results(id: string, options?: { after?: number; limit?: number }): Promise<ResultsPage>
  /**
   * Events of a running job until it ends (the last event is `completed`, `failed` or
   * `cancelled`), each delivered once what it reports is committed. Returns the
   * unsubscribe function.
   */
  subscribe(id: string, listener: (event: JobEvent) => void): () => void
  /** The assembled float32 C of a completed matmul job, row-major m×n. */
  jobOutput(id: string): Promise<Float32Array>
  /** The generated sequences of a completed inference job, in prompt order. */
  inferenceOutput(id: string): Promise<InferenceOutput>
  /** The account's figures, exact (the HTTP API writes them as decimal strings, `accountView`). */
  account(account: string): Promise<AccountCredits>
  /** Adds credits to an account from the operator's treasury (top-ups, faucets). */
  grant(account: string, credits: bigint): Promise<AccountCredits>
  stats(): CoordinatorStats
  /**
   * The public figures (`GET /v1/stats`): contributors online and their measured speed,
   * accepted compute ever and over the last `hours` UTC hours, jobs by status, credits paid.
   * Cheap (running totals), but the API caches it anyway.
   */
  networkFigures(hours: number): NetworkFigures
  /**
   * Resolves once every change made so far is durable (the store commits in groups): a
   * blob upload is answered after it, so a `201` is never lost to a crash.
   */
  durable(): Promise<void>
}

/** A wallet proven in hello (see `walletProofTypedData`). */
export interface ProvenWallet {
  address: string
  /**
   * The site whose widget the contributor joined through, as signed in the binding (absent
   * for none, `NO_SITE`): it is paid its share of this contributor's verified earnings.
   */
  site?: string
}

/** What a contributor tells the coordinator when it joins. */
export interface ContributorHello {
  capabilities: Capabilities
  /** Measured f32 matmul speed, GFLOP/s. */
  gflops?: number
  /** Checked already by the caller (the work service verifies the EIP-712 signature). */
  wallet?: ProvenWallet
  /** The network address the contributor connects from, for distinctness of replicas. */
  address?: string
}

/**
 * What a lease runs: matmul, a built-in program (inputs `a` m×k and `b` k×n, output `c`
 * m×n, float32), or a researcher's WGSL program with its source (the work service moves
 * the source into the lease's payload).
 */
export type GrantProgram =
  | ({ kind: 'matmul' } & MatmulArgs)
  | ({ kind: 'wgsl' } & CustomProgram)
  | DecoderStageProgram
  | DecoderGenerateProgram

/**
 * A unit of work handed to one contributor under a lease, one shape for every kernel: the
 * program, its inputs by content address (fetched apart from the lease, from `providers`
 * first, then the relay's blob protocol), the outputs it must write, and the lease's terms.
 */
export interface LeaseGrant {
  leaseId: string
  jobId: string
  taskId: string
  /** What the task is part of, for the contributor's page: its name, kernel and progress. */
  job: LeaseJob
  program: GrantProgram
  /** One per program input, in order: sha-256 of the bytes, optional range and providers. */
  inputs: InputRef[]
  /** One per program output, in order. */
  outputs: Array<{ name: string; shape: number[]; dtype: TensorDtype }>
  /** Workgroups to dispatch (`wgsl` programs; matmul plans its own). */
  workgroups?: [number, number, number]
  /** Uniform bytes of a `wgsl` program. */
  params?: Uint8Array
  /** When the lease ends, on the coordinator's clock, and how long that is from now. */
  expiresAt: number
  expiresInMs: number
}

/** One output tensor of a result as it came off the wire. */
export interface ResultTensor {
  shape: readonly number[]
  dtype: TensorDtype
  bytes: Uint8Array
}

export interface ResultOutcome {
  outcome: ResultOutcomeKind
  reason?: string
}

/** The contributor-facing coordinator that the work service calls. */
export interface WorkGateway {
  /**
   * Throws `CoordinatorError('CONTRIBUTOR_BANNED')` for a banned peer, wallet or address.
   * Bare `Capabilities` stand for a hello without speed, wallet or address (tests, tools).
   */
  registerContributor(peerId: string, hello: ContributorHello | Capabilities): void
  /** The peer left: its leases go back, and what was kept for it (verdicts, holds) goes. */
  contributorLeft(peerId: string): void
  /**
   * Up to `max` verdicts of this peer's results that were acknowledged `pending` and have
   * been decided since, oldest first, removed as they are taken: the work service puts
   * them on its next answer to the peer. A pending result is `accepted` when its replicas
   * agree with it, and `rejected` when it is outvoted, when the task is accepted from
   * another result without it, when its round of replicas ends without agreement, when its
   * job ends first, or when its contributor is banned. Each pending result gets exactly one
   * verdict; an acceptance undone later (backtracking) sends none (see `verdict-queue.ts`).
   */
  takeVerdicts(peerId: string, max: number): Verdict[]
  /**
   * The next task for this contributor, or undefined when there is none it may run.
   * `holds` (from its lease request, validated as sha-256 hex and capped by the wire
   * schema) replaces what it announced holding before: it is named as a provider of those
   * hashes in other contributors' leases. Omitted, its previous announcement stands.
   */
  lease(peerId: string, holds?: readonly string[]): LeaseGrant | undefined
  /**
   * Why this contributor, online since its hello, may no longer have work: a
   * `CoordinatorError('CONTRIBUTOR_BANNED')` once it has been banned (its hello succeeded
   * before the faults that banned it); undefined while it is in good standing.
   */
  refusal(peerId: string): CoordinatorError | undefined
  /** Extends a lease this peer holds; undefined when it is unknown or already over. */
  renewLease(
    peerId: string,
    leaseId: string,
  ): { expiresAt: number; expiresInMs: number } | undefined
  /**
   * The payload bytes a result for this live lease of `peerId` carries, from its task's
   * declared outputs; undefined when the peer holds no such lease. The work service reads
   * no more than this of a result.
   */
  resultBytes(peerId: string, leaseId: string): number | undefined
  /**
   * The relay could not send a lease it granted (its message cannot be encoded): nobody
   * can be served that task, so the lease is dropped and its job fails with `reason`
   * (refunding the escrow), for the researcher to see in the job view.
   */
  failLease(peerId: string, leaseId: string, reason: string): void
  /**
   * The contributor hands a lease back (it is stopping: Ctrl-C, a closed tab). The task goes
   * back to the front of its job's queue at once instead of waiting for the lease to expire.
   * Not a fault and not a task error: a contributor may always stop. Throws
   * `CoordinatorError('LEASE_NOT_HELD')` when this peer holds no live lease `leaseId` (an
   * unknown, expired or already finished lease, or another peer's).
   */
  releaseLease(peerId: string, leaseId: string): void
  /**
   * Verifies and records a task's result, for every kernel: one tensor per output the task
   * declares, in order, as raw bytes (matmul: one float32 `c`, checked with Freivalds or
   * recomputed). Idempotent per lease: a repeat of an accepted result is `accepted` again
   * and pays nothing twice.
   */
  submitResult(
    peerId: string,
    leaseId: string,
    outputs: ResultTensor[],
    /** The payload's hash and the sender's signature of it: required for decoder tasks. */
    proof?: ResultProof,
  ): ResultOutcome
  /**
   * How soon a peer with no work now should ask again: short for one that runs a stage of a
   * running pipeline (its next step is due within a token's time), else undefined (the
   * work service's idle default).
   */
  retryAfterMs(peerId: string): number | undefined
  /**
   * Calls `listener` whenever a task may have become leasable (one was queued, an inference
   * task was accepted, a contributor left, a job started) until the returned function
   * removes it. Synchronous and inside the coordinator's bookkeeping: the listener must be
   * cheap, must not throw, and should lease only after a microtask (it resolves a promise).
   */
  onTaskReady(listener: () => void): () => void
  /**
   * Milliseconds until the nearest pipeline hold ends (a step waiting for the peer with its
   * KV cache, or for a peer holding no stage): a task may become leasable to others then
   * with nothing queued. Undefined when no hold is running.
   */
  holdEndsInMs(): number | undefined
  /**
   * The bytes of an input a live lease names, by its sha-256: a part of a live job (a
   * matmul band) or an uploaded blob. What the relay's blob protocol serves; in-process
   * contributors (tests, benchmarks) read their inputs here.
   */
  inputBytes(sha256: string): Uint8Array | undefined
  /**
   * The contributor could not run the task (compile error, device lost). Not a fault: the
   * task is leased again, never to this reporter, whose credibility evidence halves. Once
   * contributors distinct in peer id, wallet and network address have reported it, the job
   * fails with this message, since the error then lies with the job.
   */
  reportTaskError(peerId: string, leaseId: string, code: string, message: string): ResultOutcome
  /** Returns expired leases' tasks to the queue. Also runs on every `lease` call. */
  reclaimExpiredLeases(): number
  /**
   * Resolves once every change made so far is durable (the store commits in groups). Await
   * it before telling a contributor its result was accepted.
   */
  durable(): Promise<void>
}
