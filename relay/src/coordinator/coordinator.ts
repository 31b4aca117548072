import { createHmac, createSecretKey, randomBytes } from 'node:crypto'
import type {
  InferenceJobSpec,
  InferenceOutput,
  JobSpec,
  JobStatus,
  JobView,
} from '@tabswarm/protocol'
import { jobBudget, MAX_MESSAGE_BYTES } from '@tabswarm/protocol'
import { selectDecoderCompute } from '@tabswarm/worker-kernels'
import { type BlobStore, createMemoryBlobStore } from '../blobs/blob-store.ts'
import { createLedger } from '../ledger/ledger.ts'
import { type Logger, silentLogger } from '../log.ts'
import type { CoordinatorStore, StoredJob } from '../store/coordinator-store.ts'
import { createSqliteStore } from '../store/sqlite-store.ts'
import { type Clock, systemClock } from './clock.ts'
import { accountKey } from './contributors/account-key.ts'
import { type Contributor, createContributorRegistry } from './contributors/contributor-registry.ts'
import { createProviderIndex, type ProviderIndexOptions } from './contributors/provider-index.ts'
import type {
  CoordinatorApi,
  CoordinatorStats,
  JobEvent,
  LeaseGrant,
  WorkGateway,
} from './coordinator-api.ts'
import { createCoordinatorCounters } from './coordinator-counters.ts'
import { CoordinatorError } from './coordinator-error.ts'
import type { DecoderCompute } from './inference/decoder-verifier.ts'
import {
  advanceInference,
  createInferenceInputs,
  type InferenceInputs,
} from './inference/inference-inputs.ts'
import { type ModelWeights, readModelWeights } from './inference/model-weights.ts'
import { stagesForMemory } from './inference/stage-plan.ts'
import { createJobBook } from './jobs/job-book.ts'
import { jobDetail, THROUGHPUT_WINDOW_MS } from './jobs/job-detail.ts'
import { createJobHistories } from './jobs/job-history.ts'
import { assembleMatmulOutput } from './jobs/job-output.ts'
import { createJobParts, type JobParts } from './jobs/job-parts.ts'
import { createJobPlanner, usefulFlops } from './jobs/job-planner.ts'
import { createJobPublication } from './jobs/job-publication.ts'
import { parseJobQuery } from './jobs/job-query.ts'
import { type JobRuntime, loadInputs, type TaskRuntime } from './jobs/job-runtime.ts'
import { jobView } from './jobs/job-view.ts'
import { createJobWatch } from './jobs/job-watch.ts'
import { resultPayloadBytes } from './jobs/result-bytes.ts'
import { taskInputRefs } from './jobs/task-inputs.ts'
import { storedTaskStates } from './jobs/task-states.ts'
import { tensorBytes } from './jobs/tensor-bytes.ts'
import { refuseUncompilableWgsl, type WgslCheck } from './jobs/wgsl-submit-check.ts'
import { leaseGrant } from './leases/lease-grant.ts'
import { createLeaseTable } from './leases/lease-table.ts'
import { createScheduler, deviceFits, notifyingQueue } from './leases/scheduler.ts'
import { createTaskOffering, type TaskOffering } from './leases/task-offering.ts'
import { createTaskReadiness } from './leases/task-readiness.ts'
import { readNetworkFigures } from './network-figures.ts'
import { createAcceptance } from './verification/acceptance.ts'
import { createKnownAnswers } from './verification/known-answers.ts'
import {
  createProvisionalResults,
  createProvisionalRows,
} from './verification/provisional-results.ts'
import { createResultVerifier } from './verification/result-verifier.ts'
import { cpuReferenceVerifier, type TileVerifier } from './verification/tile-verifier.ts'
import { createVerdictQueue } from './verification/verdict-queue.ts'

export interface CoordinatorOptions {
  /** Durable state. @default an in-memory SQLite database (nothing survives the process) */
  store?: CoordinatorStore
  /** Job inputs and accepted outputs. @default in memory */
  blobs?: BlobStore
  /** @default Date.now */
  clock?: Clock
  /** Faults, bans, task errors and job ends, as structured lines. @default silent */
  log?: Logger
  /**
   * Uniform [0, 1) numbers for every sampling decision (which results get Freivalds, spot
   * checks, canaries) and Freivalds' vectors. Contributors must not predict it.
   * @default a CSPRNG
   */
  random?: () => number
  /** Full recomputation used by spot checks of matmul tiles. @default the CPU reference */
  verifier?: TileVerifier
  /**
   * Compiles custom kernels' WGSL at submit, so one that does not compile is refused with
   * its `line:column` (see `refuseUncompilableWgsl`). @default none: contributors report it
   */
  checkWgsl?: WgslCheck
  /** Random vectors per Freivalds check. @default 2 */
  freivaldsRounds?: number
  /** How long a contributor holds a task before it goes back to the queue; renewals add as much. @default 60_000 */
  leaseMs?: number
  /** Leases one peer may hold at once (a contributor runs one task at a time). @default 8 */
  maxLeasesPerPeer?: number
  /** Output tile edge of matmul jobs. @default automatic, from contributors' measured speed */
  tileSize?: number
  /** GPU time one task should take on the median contributor. @default 1 */
  targetTaskSeconds?: number
  /** A contributor whose measured speed puts a task above this gets other work first. @default 5 */
  maxTaskSeconds?: number
  /** Speed assumed for contributors that report none, GFLOP/s. @default 20 */
  defaultGflops?: number
  /** Results of one task that fail verification before its job fails. @default 6 */
  maxTaskFailures?: number
  /** Largest input bytes of one task (what a contributor fetches for it). @default MAX_MESSAGE_BYTES less 1 MiB */
  maxTaskInputBytes?: number
  /** Credits per million floating-point operations of useful work. @default 1n */
  creditsPerMegaflop?: bigint
  /** Credits granted once to an account the first time it submits. @default 0n */
  welcomeCredits?: bigint
  /**
   * Share of a contributor's verified earnings paid to the site whose widget it joined
   * through (its wallet binding's `site`), in basis points, 0..10000; floored, the remainder
   * staying with the contributor. @default 0
   */
  siteShareBps?: number
  /** Upper bound on the fraction of saboteurs that credibility assumes. @default 0.2 */
  assumedFaultRate?: number
  /**
   * Under the default policy (no `replication`, no `maxErrorRate`), the largest probability
   * of being wrong at which one contributor's result is accepted alone, on its credibility.
   * Two agreeing contributors who outnumber every other answer are accepted whatever it is
   * (BOINC's adaptive replication); `maxErrorRate` in a job's policy replaces both rules.
   * @default 1e-4
   */
  targetErrorRate?: number
  /** Faults of one peer id, or of one wallet over any peer ids, that ban both. @default 2 */
  banAfterFaults?: number
  /**
   * Faults from one network address (IPv4, or IPv6 /64), over any peer ids and wallets, that
   * ban the address. Higher than `banAfterFaults`: a NAT puts many people behind one address.
   * @default 4
   */
  banAddressAfterFaults?: number
  /** A task leased this long without a result gets a speculative duplicate once the queue is empty. @default 10_000 */
  speculateAfterMs?: number
  /** Most results one task may collect while waiting for agreement. @default 8 */
  maxReplicas?: number
  /**
   * Matmul results recomputed on the coordinator for a contributor with fewer verified
   * results than this (a newcomer, or anyone right after a fault). @default 1
   */
  newcomerSpotChecks?: number
  /** Most flops one spot check recomputes: a band of rows when the tile is bigger. @default 2e8 */
  spotCheckFlops?: number
  /**
   * Fraction of matmul results recomputed on the coordinator when the job's policy names no
   * `spotCheck`. Above zero so that a contributor honest long enough to be trusted is still
   * caught if it starts to cheat inside Freivalds' tolerance. @default 0.02
   */
  spotCheckRate?: number
  /**
   * Name peers that announced holding an input as its providers in leases, so contributors
   * fetch job data from each other before the relay. Off, every input comes from the relay
   * (`TABSWARM_PEER_INPUTS=off`: a benchmark of the same job all-from-relay). @default true
   */
  peerInputs?: boolean
  /** Bounds of the index of what contributors announce holding. @default see `createProviderIndex` */
  providerIndex?: ProviderIndexOptions
  /** Where the parts of live jobs that leases name (matmul bands) are indexed. @default a fresh index */
  parts?: JobParts
  /**
   * How often running jobs that someone listens to are looked at for what they wait for: a
   * progress event goes out when it changed, so at most one per job per look. @default 500
   */
  watchIntervalMs?: number
  /** How often a running job's task states are sampled for its history, at first (see `job-history.ts`). @default 2_000 */
  historyIntervalMs?: number
  /**
   * Fraction of decoder results (pipeline stages, batches) recomputed on the relay's CPU
   * reference when a job's policy names no `spotCheck`; the rest are replicated among
   * newcomers and taken on credibility from trusted contributors. A job's
   * `verification: { replication: 1, spotCheck: 1 }` recomputes every one.
   * `TABSWARM_INFERENCE_SPOT_CHECK`. @default 0.05
   */
  inferenceSpotCheckRate?: number
  /**
   * Memory one contributor offers a pipeline stage when it states no `memoryCapBytes` (and
   * when no capable contributor is online at submit): what a pipeline without `stages` is
   * split to fit. `TABSWARM_INFERENCE_MEMORY_BYTES`. @default 1 GiB
   */
  inferenceMemoryBytes?: number
  /**
   * How long a pipeline step waits for the peer that holds its sequence's KV cache at that
   * stage before another may take it (replaying the prefix). @default 1_500
   */
  stageHoldMs?: number
  /**
   * `retryAfterMs` of a `no-work` answer to a peer that holds a stage of a running pipeline:
   * its next step is due within a token's time. @default 20
   */
  pipelineRetryMs?: number
}

/** In-memory matrices for `submitMatmul` (tests, benchmarks); the API submits a `JobSpec`. */
export interface MatmulMatrices {
  a: Float32Array
  b: Float32Array
  m: number
  k: number
  n: number
}

/** The durable coordinator: the researcher facade, the contributor gateway, and `close`. */
export interface Coordinator extends CoordinatorApi, WorkGateway {
  /** Stores the matrices as blobs and submits them as a matmul job of `owner` (default `local`). */
  submitMatmul(matrices: MatmulMatrices, owner?: { account: string }): JobView
  /** Fails running jobs whose deadline passed; also runs on `reclaimExpiredLeases`. */
  enforceDeadlines(): number
  /**
   * The parts of live jobs that leases name by hash (matmul bands): what the relay's blob
   * protocol serves beside the blob store.
   */
  readonly parts: Pick<JobParts, 'get' | 'size'>
  /**
   * Runs a stored running job this coordinator did not start: one it took over from
   * another coordinator of its cluster, whose rows were just restored into its store. As a
   * restart resumes a job, its accepted tasks stay accepted and the rest are queued.
   * Returns whether the job runs here now; throws, leaving the job as it is stored, when
   * its inputs cannot be loaded here (another coordinator may have them).
   */
  resumeJob(id: string): boolean
  /**
   * Stops running a job without ending it or writing anything: another coordinator of the
   * cluster owns it now. Returns whether it was running here.
   */
  releaseJob(id: string): boolean
  /** Whether a job runs here now (this coordinator holds its working set). */
  runs(id: string): boolean
  /**
   * Sharing this coordinator's queued tasks with the other relays of its cluster (see
   * `TaskOffering`); unused outside a cluster.
   */
  readonly offering: TaskOffering
  /**
   * Acts on bans that reached the store from elsewhere (another relay of the cluster): a
   * connected contributor they name is refused from now on, as one banned here is, and its
   * leases and waiting replicas are taken away. Returns how many it stopped.
   */
  applyStoredBans(): number
  close(): void
}

const TERMINAL: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled'])

function cryptoRandom(): () => number {
  const pool = new Uint32Array(1024)
  let next = pool.length
  return () => {
    if (next === pool.length) {
      crypto.getRandomValues(pool)
      next = 0
    }
    return (pool[next++] as number) / 2 ** 32
  }
}

/**
 * Jobs, tasks, leases, verification, credibility and credits. State lives in a
 * `CoordinatorStore`; every change that matters (a job, an accepted result, a payment, a
 * fault, a ban) is one transaction, written before the contributor or researcher hears of
 * it, so a crash at any moment loses no accepted result and pays nothing twice. Leases and
 * replicas still waiting for agreement live in memory: after a restart their tasks are
 * simply leased again.
 */
export function createCoordinator(options: CoordinatorOptions = {}): Coordinator {
  const store = options.store ?? createSqliteStore({ path: ':memory:' })
  const blobs = options.blobs ?? createMemoryBlobStore()
  const clock = options.clock ?? systemClock
  const log = options.log ?? silentLogger
  const random = options.random ?? cryptoRandom()
  const leaseMs = options.leaseMs ?? 60_000
  const targetTaskSeconds = options.targetTaskSeconds ?? 1
  const maxTaskSeconds = options.maxTaskSeconds ?? 5
  const defaultGflops = options.defaultGflops ?? 20
  const maxTaskFailures = options.maxTaskFailures ?? 6
  const maxTaskInputBytes = options.maxTaskInputBytes ?? MAX_MESSAGE_BYTES - 1024 ** 2
  const creditsPerMegaflop = options.creditsPerMegaflop ?? 1n
  const welcomeCredits = options.welcomeCredits ?? 0n
  const faultRate = options.assumedFaultRate ?? 0.2
  const banAfterFaults = options.banAfterFaults ?? 2
  const banAddressAfterFaults = options.banAddressAfterFaults ?? 4
  const speculateAfterMs = options.speculateAfterMs ?? 10_000
  const maxReplicas = options.maxReplicas ?? 8
  const maxLeasesPerPeer = options.maxLeasesPerPeer ?? 8
  const parts = options.parts ?? createJobParts()
  const peerInputs = options.peerInputs ?? true
  const inferenceSpotCheckRate = options.inferenceSpotCheckRate ?? 0.05
  const inferenceMemoryBytes = options.inferenceMemoryBytes ?? 1024 ** 3
  const pipelineRetryMs = options.pipelineRetryMs ?? 20
  const stageHoldMs = options.stageHoldMs ?? 1_500
  // Heard by the work service's held lease requests (`lease-long-poll.ts`).
  const readiness = createTaskReadiness()
  const queue = notifyingQueue(readiness.notify)
  const holders = createProviderIndex(options.providerIndex)
  const ledger = createLedger(store, { siteShareBps: options.siteShareBps ?? 0 })
  const verifier = createResultVerifier({
    random,
    recompute: options.verifier ?? cpuReferenceVerifier,
    freivaldsRounds: options.freivaldsRounds ?? 2,
    newcomerSpotChecks: options.newcomerSpotChecks ?? 1,
    spotCheckRate: options.spotCheckRate ?? 0.02,
    spotCheckFlops: options.spotCheckFlops ?? 2e8,
    targetErrorRate: options.targetErrorRate ?? 1e-4,
    maxReplicas,
  })

  const leases = createLeaseTable({ clock, leaseMs })
  const finishedOutputs = new Map<string, Float32Array | InferenceOutput>()
  const counters = createCoordinatorCounters()
  // Task ids are keyed hashes, so a canary's fresh id looks like any task's. A KeyObject made
  // once: a raw key costs createHmac a fresh key import per task, five times the hash itself.
  const taskIdKey = createSecretKey(randomBytes(32))
  const taskIdOf = (jobId: string, index: number) =>
    `${jobId.slice(0, 8)}-${createHmac('sha256', taskIdKey).update(`${jobId}/${index}`).digest('hex').slice(0, 16)}`
  const freshTaskId = (jobId: string) => `${jobId.slice(0, 8)}-${randomBytes(8).toString('hex')}`
  let nextReclaim = 0

  // ---- the running jobs and the contributors

  const publication = createJobPublication(store)
  // Keyed by online peers only (`contributors` is set below, before any verdict is decided).
  const verdicts = createVerdictQueue({ online: (peerId) => contributors.get(peerId) != null })
  const provisionalRows = createProvisionalRows({ store, publication })
  const histories = createJobHistories(
    options.historyIntervalMs != null ? { intervalMs: options.historyIntervalMs } : {},
  )
  const book = createJobBook({
    store,
    blobs,
    ledger,
    leases,
    queue,
    publication,
    provisional: provisionalRows,
    counters,
    clock,
    log,
    parts,
    holders,
    verdicts,
    histories,
    replayInference,
  })
  const jobs = book.running
  const { activate, finish, dropLease, enforceDeadlines } = book
  const contributors = createContributorRegistry({
    store,
    clock,
    log,
    defaultGflops,
    banAfterFaults,
    banAddressAfterFaults,
    forfeit: book.forfeit,
  })

  // ---- views and events

  const live = (id: string) => jobs.get(id) ?? publication.ending(id)

  function requireRow(id: string): StoredJob {
    const runtime = live(id)
    if (runtime != null) return runtime.row
    const row = typeof id === 'string' && id.length <= 64 ? store.getJob(id) : undefined
    if (row == null) throw new CoordinatorError('JOB_NOT_FOUND', `no job with id ${id}`)
    return row
  }

  /** Waits for what was done to job `id` so far to be committed and published. */
  const settled = (id?: string) => {
    const job = id == null ? undefined : live(id)
    return id != null && job == null ? store.flushed() : publication.settled(job)
  }
  const publicView = (row: StoredJob) => publication.view(row, jobs.get(row.id))
  /** The view with what a running job waits for worked out now (`job-watch.ts`). */
  const freshView = (row: StoredJob) => {
    const job = jobs.get(row.id)
    if (job != null) watch.refresh(job)
    return publication.view(row, job)
  }

  // ---- pricing and planning

  const planner = createJobPlanner({
    ...(options.tileSize != null ? { tileSize: options.tileSize } : {}),
    targetTaskSeconds,
    maxTaskSeconds,
    maxTaskInputBytes,
    creditsPerMegaflop,
    assumedFaultRate: faultRate,
    maxReplicas,
    inferenceSpotCheckRate,
  })

  const plan = (spec: JobSpec) =>
    planner.plan(spec, {
      medianGflops: contributors.medianGflops(),
      contributors: contributors.size,
    })

  // ---- queue and leases

  const answers = createKnownAnswers(store)
  const scheduler = createScheduler({
    leases,
    contributors,
    random,
    speculateAfterMs,
    maxTaskSeconds,
    canaryRate: planner.canaryRate,
    canTest: answers.canTest,
    stageHoldMs,
    queue,
  })
  const watch = createJobWatch({
    jobs,
    histories,
    world: {
      contributors: () => contributors.values(),
      leases,
      mayRun: scheduler.mayRun,
    },
    publication,
    clock,
    log,
    ...(options.watchIntervalMs != null ? { intervalMs: options.watchIntervalMs } : {}),
  })

  const offering = createTaskOffering({
    clock,
    log,
    jobs,
    leases,
    scheduler,
    contributors,
    grant: (job, task, c) => grant(job, task, c, false),
    dropLease: (leaseId, putBack) => dropLease(leaseId, putBack),
    takeVerdicts: (peerId, max) => verdicts.take(peerId, max),
    forget: (peerId) => coordinator.contributorLeft(peerId),
    dispatched: () => counters.tasksDispatched,
  })
  /** Contributors connected to this relay (not those of others whose results reach it). */
  function* connectedHere(): Generator<Contributor> {
    for (const c of contributors.values()) if (!offering.isRemote(c.peerId)) yield c
  }

  function grant(job: JobRuntime, task: TaskRuntime, c: Contributor, canary: boolean): LeaseGrant {
    if (task.id === '') task.id = taskIdOf(job.row.id, task.index)
    if (job.row.firstLeaseAt == null) {
      const at = clock.now()
      job.row.firstLeaseAt = at
      store.transaction(() => store.updateJob(job.row.id, { firstLeaseAt: at }))
    }
    const lease = leases.issue({
      // A canary is told a fresh id: a known task's own would give it away to anyone who
      // saw that task before.
      taskId: canary ? freshTaskId(job.row.id) : task.id,
      jobId: job.row.id,
      taskIndex: task.index,
      peerId: c.peerId,
      canary,
    })
    task.leases.add(lease.id)
    if (!canary) job.leased++
    else counters.canariesIssued++
    counters.tasksDispatched++
    return leaseGrant(job, task, lease, leaseMs, parts, peerInputs ? providersFor : undefined)
  }

  /** Online, unbanned peers that announced holding `sha256`, never `peerId` itself. */
  function providersFor(sha256: string, peerId: string, limit: number): string[] {
    return holders.providers(sha256, {
      exclude: peerId,
      limit,
      accept: (peer) => contributors.get(peer)?.record.banned === false,
    })
  }

  /**
   * A serving peer that returns a task has its inputs in its cache: it is named as their
   * provider from now on, not only after its next lease request announces them.
   */
  function noteInputsHeld(peerId: string, leaseId: string): void {
    const lease = leases.get(leaseId)
    const job = lease != null && lease.peerId === peerId ? jobs.get(lease.jobId) : undefined
    if (lease == null || job == null) return
    holders.provide(
      peerId,
      taskInputRefs(job.row.id, job.inputs, lease.taskIndex, parts).map((ref) => ref.sha256),
    )
  }

  function reclaimExpiredLeases(): number {
    const now = clock.now()
    const expired = leases.expired(now)
    for (const lease of expired) dropLease(lease.id)
    enforceDeadlines()
    nextReclaim = now + 250
    return expired.length
  }

  // ---- verification and acceptance

  const provisional = createProvisionalResults({
    store,
    blobs,
    ledger,
    clock,
    log,
    counters,
    jobs,
    contributors,
    scheduler,
    verifier,
    publication,
    rows: provisionalRows,
    expel: book.expel,
  })

  const acceptance = createAcceptance({
    store,
    blobs,
    ledger,
    clock,
    log,
    counters,
    jobs,
    leases,
    contributors,
    scheduler,
    verifier,
    publication,
    provisional,
    answers,
    finish,
    dropLease,
    expel: book.expel,
    verdicts,
    faultRate,
    maxTaskFailures,
    inference: {
      random,
      spotCheckRate: inferenceSpotCheckRate,
      computeOf: computeOf,
      advanced: advanceSequences,
    },
  })

  // ---- inference

  /** The arithmetic a contributor runs a job's decoder in: f16 only with `shader-f16` and f16 weights. */
  function computeOf(peerId: string, inputs: InferenceInputs): DecoderCompute {
    // The rule the contributor's GPU stage picks its arithmetic by, from what it advertised.
    const features = contributors.get(peerId)?.capabilities?.features ?? []
    return selectDecoderCompute(inputs.weights.dtype, features)
  }

  /**
   * A pipeline without `stages` is split into as few as fit the largest memory cap among
   * the online contributors that run decoder stages (or `inferenceMemoryBytes`), and the
   * count is written into the stored spec: the split is fixed for the job's life, restarts
   * included.
   */
  function resolveStages(spec: InferenceJobSpec, weights: ModelWeights): InferenceJobSpec {
    if (spec.mode !== 'pipeline' || spec.stages != null) return spec
    let cap = 0
    for (const c of contributors.values())
      if (c.capabilities?.kernels.includes('decoder-stage') === true && !c.record.banned)
        cap = Math.max(cap, c.capabilities.memoryCapBytes ?? inferenceMemoryBytes)
    const longest = Math.max(...spec.prompts.map((p) => p.length))
    const stages = stagesForMemory(weights, cap || inferenceMemoryBytes, longest).length
    return { ...spec, stages }
  }

  /** An accepted inference task's effects: successors queued, tasks closed, tokens told. */
  function advanceSequences(
    job: JobRuntime,
    task: TaskRuntime,
    producer: string,
    outputs: ReadonlyArray<{ bytes: Uint8Array }>,
  ): void {
    const inputs = job.inputs as InferenceInputs
    const advance = advanceInference(
      inputs,
      task.index,
      outputs.map((o) => o.bytes),
      producer,
      clock.now(),
      (bytes) => parts.add(job.row.id, bytes),
    )
    for (const i of advance.ready) scheduler.requeueFirst(job, job.tasks[i]!)
    if (advance.closed.length > 0) {
      for (const i of advance.closed) {
        const closed = job.tasks[i]!
        closed.accepted = true
        closed.queued = false
      }
      job.row.closedTasks = (job.row.closedTasks ?? 0) + advance.closed.length
      const closedTasks = job.row.closedTasks
      store.transaction(() => store.updateJob(job.row.id, { closedTasks }))
    }
    for (const seq of advance.sequences) {
      const from = seq.told
      const tokens = seq.tokens.slice(from)
      seq.told = seq.tokens.length
      const finish = seq.finish
      publication.publish(job, () => ({
        type: 'tokens',
        job: jobView(job.row, job),
        tokens: {
          type: 'tokens',
          sequence: seq.index,
          from,
          tokens,
          ...(finish != null ? { finish } : {}),
        },
      }))
    }
    // A finished sequence frees its stage holders: a held request learns it has no step due.
    if (advance.sequences.some((seq) => seq.finish != null)) readiness.notify()
  }

  /**
   * A new listener of an inference job hears the tokens told so far, one `tokens` event per
   * sequence from position 0, after the events already on their way (so a client that
   * subscribes after submit misses none): an event may overlap one it also hears live, and
   * its `from` places it.
   */
  function tellTokensSoFar(job: JobRuntime, listener: (event: JobEvent) => void): void {
    const inputs = job.inputs as InferenceInputs
    const events: JobEvent[] = []
    for (const seq of inputs.sequences) {
      if (seq.told === 0 && seq.finish == null) continue
      const finish = seq.told === seq.tokens.length ? seq.finish : undefined
      events.push({
        type: 'tokens',
        job: jobView(job.row, job),
        tokens: {
          type: 'tokens',
          sequence: seq.index,
          from: 0,
          tokens: seq.tokens.slice(0, seq.told),
          ...(finish != null ? { finish } : {}),
        },
      })
    }
    if (events.length === 0) return
    void job.outbox.then(() => {
      if (job.listeners.has(listener)) for (const event of events) listener(event)
    })
  }

  /**
   * A resumed (or finished, for its output) inference job's accepted results replayed in
   * acceptance order: the sequences, tokens and closed tasks are as they were.
   */
  function replayInference(row: StoredJob, inputs: InferenceInputs): void {
    const now = clock.now()
    for (const result of store.results(row.id, 0, Number.MAX_SAFE_INTEGER)) {
      const bytes = result.outputs.map((ref) => {
        const b = blobs.get(ref.blob)
        if (b == null)
          throw new CoordinatorError(
            'BLOB_NOT_FOUND',
            `the accepted output ${ref.blob.slice(0, 12)}… of task ${result.index} is gone`,
          )
        return b
      })
      advanceInference(inputs, result.index, bytes, undefined, now, (b) => parts.add(row.id, b))
    }
    for (const seq of inputs.sequences) seq.told = seq.tokens.length
  }

  /** A finished inference job's sequences, replayed from its accepted results. */
  function inferenceOutputOf(row: StoredJob): InferenceOutput {
    const inputs = loadInputs(row, blobs) as InferenceInputs
    replayInference(row, inputs)
    parts.dropJob(row.id)
    return {
      sequences: inputs.sequences.map((seq) => ({
        index: seq.index,
        tokens: seq.tokens,
        ...(seq.finish != null ? { finish: seq.finish } : {}),
      })),
    }
  }

  // ---- the facade

  const coordinator: Coordinator = {
    async quote(spec) {
      let parsed = planner.parse(spec)
      if (parsed.kernel === 'inference')
        parsed = resolveStages(parsed, readModelWeights(parsed.model, blobs))
      const p = plan(parsed)
      return { flops: p.flops, tasks: p.tasks, credits: p.credits.toString() }
    },

    async submit(spec, owner) {
      const parsed = planner.parse(spec)
      await refuseUncompilableWgsl(parsed, options.checkWgsl)
      const job = submitSync(parsed, owner)
      await store.flushed()
      return job
    },

    submitMatmul({ a, b, m, k, n }, owner = { account: 'local' }) {
      for (const [name, value] of Object.entries({ m, k, n })) {
        if (!Number.isInteger(value) || value < 1)
          throw new CoordinatorError(
            'INVALID_JOB',
            `${name} must be a positive integer, got ${value}`,
          )
      }
      if (a.length !== m * k)
        throw new CoordinatorError(
          'INVALID_JOB',
          `A has ${a.length} elements, expected m·k = ${m}·${k}`,
        )
      if (b.length !== k * n)
        throw new CoordinatorError(
          'INVALID_JOB',
          `B has ${b.length} elements, expected k·n = ${k}·${n}`,
        )
      const spec: JobSpec = {
        kernel: 'matmul',
        inputs: {
          a: { blob: blobs.put(tensorBytes(a)).hash, dtype: 'float32', shape: [m, k] },
          b: { blob: blobs.put(tensorBytes(b)).hash, dtype: 'float32', shape: [k, n] },
        },
      }
      return submitSync(spec, owner)
    },

    async getJob(id) {
      requireRow(id)
      await settled(id)
      return freshView(requireRow(id))
    },

    async jobDetail(id) {
      requireRow(id)
      await settled(id)
      const row = requireRow(id)
      const job = jobs.get(id)
      const now = clock.now()
      const states = job != null ? watch.refresh(job) : storedTaskStates(row)
      return jobDetail({
        view: publication.view(row, job),
        row,
        states,
        summary: store.resultSummary(id, now - THROUGHPUT_WINDOW_MS),
        flops: usefulFlops(row.spec),
        history: histories.samples(id),
        now,
      })
    },

    async listJobs(query = {}) {
      const { limit, store: storeQuery } = parseJobQuery(query)
      await settled()
      const rows = store.listJobs({ ...storeQuery, limit: limit + 1 })
      const page = rows.slice(0, limit).map((row) => freshView(row))
      return rows.length > limit
        ? { jobs: page, nextCursor: String(rows[limit - 1]!.seq) }
        : { jobs: page }
    },

    async cancel(id, owner) {
      const row = requireRow(id)
      if (owner != null && row.owner !== accountKey(owner.account))
        throw new CoordinatorError('NOT_OWNER', `job ${id} belongs to another account`)
      const job = jobs.get(id)
      if (job == null) {
        // Ended already, or ending: once that is committed, its row says how.
        await settled(id)
        throw new CoordinatorError(
          'JOB_FINISHED',
          `job ${id} already ${requireRow(id).status}; nothing to cancel`,
        )
      }
      finish(job, 'cancelled')
      await job.outbox
      return publicView(job.row)
    },

    async results(id, { after = 0, limit = 100 } = {}) {
      requireRow(id)
      // Everything accepted before this call is committed once this resolves; what is
      // accepted meanwhile stays hidden (`publication.visible`) until it is.
      await settled(id)
      const status = publicView(requireRow(id)).status
      const safeAfter = Number.isSafeInteger(after) && after > 0 ? after : 0
      const safeLimit = Math.min(Math.max(1, Math.floor(limit)), 1000)
      const results = store
        .results(id, safeAfter, safeLimit)
        .filter((r) => publication.visible(r.seq))
      const cursor = results.at(-1)?.seq ?? safeAfter
      const done = TERMINAL.has(status) && results.length < safeLimit
      return { results, cursor, done }
    },

    subscribe(id, listener) {
      requireRow(id)
      const job = live(id)
      if (job == null) return () => {}
      const first = job.listeners.size === 0
      job.listeners.add(listener)
      if (jobs.has(id)) watch.subscribed(job, first)
      if (job.inputs.kind === 'inference') tellTokensSoFar(job, listener)
      return () => job.listeners.delete(listener)
    },

    async jobOutput(id) {
      requireRow(id)
      await settled(id)
      const row = requireRow(id)
      const status = publicView(row).status
      if (status !== 'completed')
        throw new CoordinatorError('JOB_NOT_COMPLETE', `job ${id} is ${status}, not completed`)
      const cached = finishedOutputs.get(id)
      if (cached instanceof Float32Array) return cached
      if (row.kernel !== 'matmul')
        throw new CoordinatorError(
          'INVALID_JOB',
          `job ${id} is a ${row.kernel} job: its output is not one matrix`,
        )
      const out = assembleMatmulOutput(row, store.results(id, 0, Number.MAX_SAFE_INTEGER), blobs)
      finishedOutputs.set(id, out)
      if (finishedOutputs.size > 4) finishedOutputs.delete(finishedOutputs.keys().next().value!)
      return out
    },

    async inferenceOutput(id) {
      requireRow(id)
      await settled(id)
      const row = requireRow(id)
      const status = publicView(row).status
      if (row.kernel !== 'inference')
        throw new CoordinatorError('INVALID_JOB', `job ${id} is a ${row.kernel} job, not inference`)
      if (status !== 'completed')
        throw new CoordinatorError('JOB_NOT_COMPLETE', `job ${id} is ${status}, not completed`)
      const cached = finishedOutputs.get(id)
      if (cached != null && !(cached instanceof Float32Array)) return cached
      const out = inferenceOutputOf(row)
      finishedOutputs.set(id, out)
      if (finishedOutputs.size > 4) finishedOutputs.delete(finishedOutputs.keys().next().value!)
      return out
    },

    async account(name) {
      const account = accountKey(name)
      let escrowed = 0n
      for (const job of jobs.values())
        if (job.row.owner === account) escrowed += ledger.escrowed(job.row.id)
      return {
        account,
        balance: ledger.balance(account),
        escrowed,
        earned: ledger.earned(account),
        pending: ledger.pending(account),
      }
    },

    async grant(name, credits) {
      const account = accountKey(name)
      if (typeof credits !== 'bigint' || credits <= 0n)
        throw new CoordinatorError(
          'INVALID_AMOUNT',
          `credits must be a positive integer (bigint), got ${String(credits)} (${typeof credits})`,
        )
      ledger.grant(account, credits, clock.now())
      await store.flushed()
      return coordinator.account(account)
    },

    stats(): CoordinatorStats {
      let queueDepth = 0
      for (const job of jobs.values()) queueDepth += job.ready.length - job.head
      return {
        gauges: {
          queueDepth,
          activeLeases: leases.size,
          contributorsOnline: contributors.size - offering.remoteCount,
          bannedContributors: store.countBans(),
          jobs: store.countJobsByStatus(),
        },
        counters: { ...counters.snapshot(contributors.bans), verdictsDropped: verdicts.dropped },
      }
    },

    networkFigures: (hours) =>
      readNetworkFigures({ store, clock, contributors: connectedHere }, hours),

    registerContributor(peerId, hello) {
      contributors.register(peerId, 'capabilities' in hello ? hello : { capabilities: hello })
      offering.connectedHere(peerId)
    },

    contributorLeft(peerId) {
      if (contributors.get(peerId) == null) return
      for (const leaseId of leases.heldBy(peerId)) dropLease(leaseId)
      holders.forget(peerId)
      verdicts.forget(peerId)
      contributors.remove(peerId)
      // The steps held for it (affinity) are anyone's now.
      readiness.notify()
    },

    takeVerdicts: (peerId, max) => verdicts.take(peerId, max),

    lease(peerId, holds) {
      const now = clock.now()
      if (now >= nextReclaim) reclaimExpiredLeases()
      const c = contributors.get(peerId)
      if (c == null || c.record.banned) return undefined
      if (peerInputs && holds != null) holders.announce(peerId, holds)
      // One peer cannot hoard the queue: what it holds, nobody else can run.
      if (leases.countHeldBy(peerId) >= maxLeasesPerPeer) return undefined
      const pick = scheduler.pick(c, jobs.values(), now)
      return pick && grant(pick.job, pick.task, c, pick.canary)
    },

    renewLease(peerId, leaseId) {
      const lease = leases.renew(peerId, leaseId)
      return lease && { expiresAt: lease.expiresAt, expiresInMs: leaseMs }
    },

    refusal(peerId) {
      if (contributors.get(peerId)?.record.banned !== true) return undefined
      return new CoordinatorError(
        'CONTRIBUTOR_BANNED',
        `contributor ${peerId} was banned for faulty results and gets no more work`,
      )
    },

    resultBytes(peerId, leaseId) {
      const lease = leases.held(peerId, leaseId)
      const job = lease == null ? undefined : jobs.get(lease.jobId)
      return lease == null || job == null ? undefined : resultPayloadBytes(job, lease.taskIndex)
    },

    failLease(peerId, leaseId, reason) {
      const lease = leases.held(peerId, leaseId)
      if (lease == null) return
      dropLease(leaseId, false)
      const job = jobs.get(lease.jobId)
      if (job != null) finish(job, 'failed', reason)
    },

    releaseLease(peerId, leaseId) {
      if (leases.held(peerId, leaseId) == null)
        throw new CoordinatorError(
          'LEASE_NOT_HELD',
          `peer ${peerId} holds no live lease ${String(leaseId).slice(0, 64)}`,
        )
      // Back at the front of the queue: the task was already waited for once.
      dropLease(leaseId, 'front')
    },

    submitResult(peerId, leaseId, outputs, proof) {
      if (peerInputs && holders.serves(peerId)) noteInputsHeld(peerId, leaseId)
      return acceptance.record(peerId, leaseId, outputs, proof)
    },

    retryAfterMs(peerId) {
      const c = contributors.get(peerId)
      for (const job of jobs.values()) {
        const inputs = job.inputs
        if (inputs.kind !== 'inference' || inputs.spec.mode !== 'pipeline') continue
        for (const seq of inputs.sequences) {
          if (seq.finish != null) continue
          if (seq.holder.includes(peerId)) return pipelineRetryMs
          // A stage nobody (online) holds may be held for a peer holding no stage of the
          // sequence (the spread): a peer that could run it waits for it too, rather than
          // finding it a second later on its next poll.
          if (
            c != null &&
            seq.holder.some((h) => h == null || contributors.get(h) == null) &&
            deviceFits(c, job)
          )
            return pipelineRetryMs
        }
      }
      return undefined
    },

    onTaskReady: readiness.onReady,

    holdEndsInMs() {
      const now = clock.now()
      let soonest: number | undefined
      for (const job of jobs.values()) {
        const inputs = job.inputs
        if (inputs.kind !== 'inference' || inputs.spec.mode !== 'pipeline') continue
        for (const seq of inputs.sequences) {
          if (seq.finish != null) continue
          const left = seq.readyAt + stageHoldMs - now
          if (left > 0 && (soonest == null || left < soonest)) soonest = left
        }
      }
      return soonest
    },

    inputBytes: (sha256) => parts.get(sha256) ?? blobs.get(sha256),

    parts,

    reportTaskError: (peerId, leaseId, code, message) =>
      acceptance.taskError(peerId, leaseId, code, message),

    reclaimExpiredLeases,
    enforceDeadlines,
    durable: () => store.flushed(),

    resumeJob(id) {
      const runtime = book.resumeOne(id)
      if (runtime == null) return false
      readiness.notify()
      watch.refresh(runtime)
      return true
    },

    releaseJob: (id) => book.release(id),

    runs: (id) => jobs.has(id),

    offering,

    applyStoredBans() {
      const outcast = contributors.applyStoredBans()
      book.expel(outcast)
      return outcast.length
    },

    close() {
      watch.stop()
      for (const lease of leases.ids()) dropLease(lease)
      contributors.flush()
      store.close()
    },
  }

  function submitSync(spec: JobSpec, owner: { account: string }): JobView {
    // An inference job's model is read and checked first: it decides the pipeline's stages.
    const weights = spec.kernel === 'inference' ? readModelWeights(spec.model, blobs) : undefined
    if (spec.kernel === 'inference') spec = resolveStages(spec, weights!)
    if (
      typeof owner?.account !== 'string' ||
      owner.account.length === 0 ||
      owner.account.length > 128
    )
      throw new CoordinatorError(
        'INVALID_JOB',
        'owner.account must be a string of 1-128 characters',
      )
    const p = plan(spec)
    const now = clock.now()
    const deadline = spec.deadline != null ? Date.parse(spec.deadline) : undefined
    if (deadline != null && deadline <= now)
      throw new CoordinatorError('INVALID_JOB', `deadline ${spec.deadline} has already passed`)
    const budget = jobBudget(spec) ?? p.credits
    if (budget < p.taskCredits)
      throw new CoordinatorError(
        'INVALID_JOB',
        `budget ${budget} does not cover one task (${p.taskCredits} credits)`,
      )
    const id = crypto.randomUUID()
    owner = { account: accountKey(owner.account) }
    const row: StoredJob = {
      id,
      seq: 0,
      owner: owner.account,
      spec,
      kernel: spec.kernel,
      status: 'running',
      priority: spec.priority ?? 1,
      ...(deadline != null ? { deadline } : {}),
      ...(p.edge != null ? { tileRows: p.edge, tileCols: p.edge } : {}),
      totalTasks: p.tasks,
      acceptedTasks: 0,
      rejectedResults: 0,
      taskCredits: p.taskCredits,
      budget,
      spent: 0n,
      refunded: 0n,
      createdAt: now,
    }
    // Reads and checks the input blobs before anything is written.
    const inputs =
      spec.kernel === 'inference'
        ? createInferenceInputs(spec, weights!, now)
        : loadInputs(row, blobs, now)
    store.transaction(() => {
      if (
        welcomeCredits > 0n &&
        ledger.balance(owner.account) < budget &&
        store.creditedTotal(owner.account, ['grant']) === 0n
      )
        ledger.grant(owner.account, welcomeCredits, now)
      if (!ledger.escrow(owner.account, id, budget, now))
        throw new CoordinatorError(
          'INSUFFICIENT_CREDITS',
          `account ${owner.account} has ${ledger.balance(owner.account)} credits, the job needs ${budget}`,
        )
      store.insertJob(row)
    })
    const runtime = activate(row, [], inputs)
    readiness.notify()
    // What it waits for from the start: the submitter hears at once when nobody can run it.
    watch.refresh(runtime)
    return jobView(row, runtime)
  }

  book.resume()
  watch.start()

  return coordinator
}
