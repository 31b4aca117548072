import type { JobStatus } from '@tabswarm/protocol'
import type { BlobStore } from '../../blobs/blob-store.ts'
import type { Ledger } from '../../ledger/ledger.ts'
import type { Logger } from '../../log.ts'
import type { CoordinatorStore, StoredJob } from '../../store/coordinator-store.ts'
import type { Clock } from '../clock.ts'
import type { Contributor } from '../contributors/contributor-registry.ts'
import type { ProviderIndex } from '../contributors/provider-index.ts'
import type { JobEvent } from '../coordinator-api.ts'
import type { CoordinatorCounters } from '../coordinator-counters.ts'
import { type InferenceInputs, initialReady } from '../inference/inference-inputs.ts'
import { inferenceRequirement } from '../inference/inference-lease.ts'
import { customRequirement, matmulRequirement } from '../leases/capability-match.ts'
import type { Lease, LeaseTable } from '../leases/lease-table.ts'
import type { JobQueue } from '../leases/scheduler.ts'
import type { ProvisionalRows } from '../verification/provisional-results.ts'
import { decideReplicas, type VerdictQueue } from '../verification/verdict-queue.ts'
import { type JobHistories, jobSample } from './job-history.ts'
import type { JobParts } from './job-parts.ts'
import type { JobPublication } from './job-publication.ts'
import {
  type CustomInputs,
  type JobRuntime,
  loadInputs,
  type MatmulInputs,
  newTask,
  type TaskRuntime,
} from './job-runtime.ts'
import { jobView } from './job-view.ts'
import { groupedTileOrder } from './matmul-tiling.ts'
import { storedTaskStates, taskStates } from './task-states.ts'

export interface JobBookDeps {
  store: CoordinatorStore
  /** Job inputs, read when a job is activated without them (a restart). */
  blobs: BlobStore
  ledger: Ledger
  leases: LeaseTable
  /** The scheduler's queue operations (they hold no state: the scheduler comes later). */
  queue: JobQueue
  publication: JobPublication
  /** Provisional acceptances' rows: read back when a job starts, published when it ends. */
  provisional: Pick<ProvisionalRows, 'load' | 'release'>
  counters: CoordinatorCounters
  clock: Clock
  log: Logger
  /** The parts of live jobs that leases name by hash: a job's go when it ends. */
  parts: Pick<JobParts, 'dropJob'>
  /**
   * A resumed inference job's accepted results, replayed in acceptance order into its
   * sequences (which tasks are ready, closed, which tokens were chosen).
   */
  replayInference?(row: StoredJob, inputs: InferenceInputs): void
  /** Who announced holding which inputs: a banned contributor's announcements go. */
  holders: Pick<ProviderIndex, 'forget'>
  /** Where the verdicts of pending results go: rejected when their job ends or they are expelled. */
  verdicts: Pick<VerdictQueue, 'decide'>
  /** Jobs' task states over time: a job's begins when it is activated and ends with it. */
  histories: Pick<JobHistories, 'begin' | 'end'>
}

/** Why a lease ends decides where its task goes: the end or the front of the queue, or nowhere. */
export type PutBack = 'back' | 'front' | false

/**
 * The running jobs and every change of their state: a stored job activated into a runtime,
 * ended with its settlement, a task put back in the queue, a lease dropped, banned
 * contributors' leases and replicas taken away, a faulted payee's pending credit returned.
 */
export interface JobBook {
  /** The running jobs by id; a job leaves it when it ends (see `JobPublication.ending`). */
  readonly running: ReadonlyMap<string, JobRuntime>
  /**
   * A stored job, running from now: its tasks not among `accepted` queued, its provisional
   * acceptances read back. Throws when its input blobs are missing or wrong (`loadInputs`).
   */
  activate(
    row: StoredJob,
    accepted: readonly number[],
    inputs?: MatmulInputs | CustomInputs | InferenceInputs,
  ): JobRuntime
  /**
   * Activates the jobs stored as running (a restart); a job whose inputs are gone fails,
   * refunded, and the others go on.
   */
  resume(): void
  /**
   * Activates one stored running job as `resume` does at a restart: one this coordinator
   * took over from another of its cluster, whose rows were just restored into the store.
   * Returns the runtime, or undefined when the job is not stored as running. Unlike
   * `resume`, a job whose inputs cannot be loaded is not ended: the error is thrown, and
   * the job is left for a coordinator that can load them.
   */
  resumeOne(id: string): JobRuntime | undefined
  /**
   * Stops running a job without ending it or writing anything: another coordinator owns
   * it now. Its leases end (results for them come back stale) and replicas waiting for
   * agreement are dropped: this coordinator will never pay them, so their contributors
   * hear `rejected`, as when a job ends (the new owner runs those tasks again).
   */
  release(id: string): boolean
  /**
   * Ends a running job in one transaction (its provisional acceptances published as they
   * are, its escrow settled: the payees paid, the rest refunded), drops its leases, and
   * publishes its end once committed.
   */
  finish(job: JobRuntime, status: Exclude<JobStatus, 'running'>, error?: string): void
  /** Fails running jobs whose deadline passed; how many. */
  enforceDeadlines(): number
  /** Puts a task back at the end of its job's queue, unless accepted or queued already. */
  requeue(job: JobRuntime, task: TaskRuntime): void
  /**
   * Ends a lease. Its task goes back to the queue when nobody else holds it: at the end
   * (`'back'`), at the front (`'front'`: it was already waited for once), or not at all.
   */
  dropLease(leaseId: string, putBack?: PutBack): Lease | undefined
  /** Takes the leases and the waiting replicas of newly banned contributors away. */
  expel(outcast: readonly Contributor[]): void
  /** What a faulted payee had pending goes back to the jobs: they spent that much less. */
  forfeit(payee: string, at: number): void
}

export function createJobBook(deps: JobBookDeps): JobBook {
  const { store, blobs, ledger, leases, queue, publication, provisional, counters, clock, log } =
    deps
  const { parts, holders, verdicts, histories } = deps
  const jobs = new Map<string, JobRuntime>()
  const { requeue } = queue

  function activate(
    row: StoredJob,
    accepted: readonly number[],
    inputs = loadInputs(row, blobs, clock.now()),
  ): JobRuntime {
    const done = new Set(accepted)
    if (inputs.kind === 'inference' && accepted.length > 0) {
      deps.replayInference?.(row, inputs)
      row.closedTasks = inputs.closed.size
    }
    const tasks: TaskRuntime[] = []
    // A closed task (its sequence ended) is done: never leased.
    for (let i = 0; i < row.totalTasks; i++)
      tasks.push(newTask(i, done.has(i) || (inputs.kind === 'inference' && inputs.closed.has(i))))
    // Matmul tiles in groups of bands, so contributors leasing together share their inputs;
    // a pipeline's tasks only as their predecessors are accepted.
    const order =
      inputs.kind === 'matmul'
        ? groupedTileOrder(inputs.m, inputs.n, row.tileRows ?? 128, row.tileCols ?? 128)
        : inputs.kind === 'inference'
          ? initialReady(inputs, done)
          : tasks.map((t) => t.index)
    const ready: number[] = []
    for (const i of order) {
      const task = tasks[i]!
      if (task.accepted) continue
      task.queued = true
      ready.push(i)
    }
    const runtime: JobRuntime = {
      row,
      tasks,
      ready,
      head: 0,
      pass: queue.startPass(jobs.values()),
      listeners: new Set(),
      inputs,
      need:
        inputs.kind === 'matmul'
          ? matmulRequirement(row.tileRows ?? 128, inputs.m, inputs.k, inputs.n)
          : inputs.kind === 'inference'
            ? inferenceRequirement(inputs)
            : customRequirement(inputs.spec),
      fits: new WeakMap(),
      provisional: new Map(),
      payees: new Set(),
      leased: 0,
      outbox: Promise.resolve(),
    }
    jobs.set(row.id, runtime)
    provisional.load(runtime)
    histories.begin(row.id, jobSample(clock.now(), taskStates(runtime), row))
    return runtime
  }

  function resume(): void {
    const pendingPayees = store.pendingPayees()
    for (const row of store.runningJobs()) resumeRow(row, pendingPayees)
  }

  function resumeOne(id: string): JobRuntime | undefined {
    const row = store.getJob(id)
    if (row == null || row.status !== 'running' || jobs.has(id)) return jobs.get(id)
    return resumeRow(row, store.pendingPayees(), false)
  }

  function release(id: string): boolean {
    const job = jobs.get(id)
    if (job == null) return false
    for (const task of job.tasks) {
      for (const leaseId of task.leases) dropLease(leaseId, false)
      if (task.replicas.length > 0) {
        decideReplicas(verdicts, task.id, task.replicas, () => 'rejected')
        task.replicas = []
      }
    }
    jobs.delete(id)
    parts.dropJob(id)
    job.leased = 0
    histories.end(id, jobSample(clock.now(), taskStates(job), job.row))
    log.info('job handed over', { job: id, accepted: job.row.acceptedTasks })
    return true
  }

  function resumeRow(
    row: StoredJob,
    pendingPayees: ReadonlyMap<string, readonly string[]>,
    endIfUnloadable = true,
  ): JobRuntime | undefined {
    {
      let runtime: JobRuntime
      try {
        runtime = activate(row, store.acceptedTasks(row.id))
      } catch (err) {
        if (!endIfUnloadable) throw err
        // Its inputs are gone (the blob directory was pruned, say): end the job, refund, go on.
        const at = clock.now()
        const reason = `cannot resume after a restart: ${(err as Error).message}`
        log.error('job failed to resume', { job: row.id, error: reason })
        store.transaction(() => {
          const refunded = ledger.settle(row.id, row.owner, pendingPayees.get(row.id) ?? [], at)
          store.updateJob(row.id, {
            status: 'failed',
            finishedAt: at,
            error: reason,
            refunded: row.refunded + refunded,
          })
        })
        return undefined
      }
      for (const payee of pendingPayees.get(row.id) ?? []) runtime.payees.add(payee)
      log.info('job resumed', {
        job: row.id,
        tasks: row.totalTasks,
        accepted: row.acceptedTasks,
      })
      return runtime
    }
  }

  function finish(job: JobRuntime, status: Exclude<JobStatus, 'running'>, error?: string): void {
    const at = clock.now()
    const row = job.row
    const before = jobView(row, job)
    store.transaction(() => {
      provisional.release(job)
      const refunded = ledger.settle(row.id, row.owner, job.payees, at)
      row.status = status
      row.finishedAt = at
      row.refunded += refunded
      if (error != null) row.error = error
      store.updateJob(row.id, {
        status,
        finishedAt: at,
        refunded: row.refunded,
        ...(error != null ? { error } : {}),
      })
      counters.creditsRefunded += refunded
    })
    for (const task of job.tasks) {
      for (const leaseId of task.leases) dropLease(leaseId)
      // Results still waiting for agreement will never be paid: their contributors hear so,
      // or their "awaiting agreement" would wait for ever.
      if (task.replicas.length > 0) {
        decideReplicas(verdicts, task.id, task.replicas, () => 'rejected')
        task.replicas = []
      }
    }
    jobs.delete(row.id)
    parts.dropJob(row.id)
    job.leased = 0
    histories.end(row.id, jobSample(at, storedTaskStates(row), row))
    log[status === 'failed' ? 'warn' : 'info'](`job ${status}`, {
      job: row.id,
      owner: row.owner,
      tasks: row.totalTasks,
      accepted: row.acceptedTasks,
      rejectedResults: row.rejectedResults,
      spent: row.spent,
      refunded: row.refunded,
      ...(error != null ? { error } : {}),
    })
    publication.end(job, before, { type: status, job: jobView(row) } as JobEvent)
  }

  function enforceDeadlines(): number {
    const now = clock.now()
    let failed = 0
    for (const job of [...jobs.values()]) {
      if (job.row.deadline != null && job.row.deadline <= now) {
        finish(
          job,
          'failed',
          `deadline ${new Date(job.row.deadline).toISOString()} passed with ${job.row.acceptedTasks} of ${job.row.totalTasks} tasks accepted`,
        )
        failed++
      }
    }
    return failed
  }

  function dropLease(leaseId: string, putBack: PutBack = 'back'): Lease | undefined {
    const lease = leases.remove(leaseId)
    if (lease == null) return undefined
    const job = jobs.get(lease.jobId)
    const task = job?.tasks[lease.taskIndex]
    if (job != null && task?.leases.delete(leaseId)) {
      if (!lease.canary) job.leased--
      if (task.leases.size === 0) {
        if (putBack === 'back') requeue(job, task)
        else if (putBack === 'front') queue.requeueFirst(job, task)
      }
    }
    return lease
  }

  function expel(outcast: readonly Contributor[]): void {
    if (outcast.length === 0) return
    const banned = new Set<string>()
    for (const c of outcast) {
      banned.add(c.peerId)
      holders.forget(c.peerId)
      for (const leaseId of leases.heldBy(c.peerId)) dropLease(leaseId)
    }
    // Their replicas waiting for agreement count for nothing now: one pass over the tasks
    // for all of them (a wallet's ban can expel many peers at once).
    for (const job of jobs.values()) {
      for (const task of job.tasks) {
        if (task.replicas.some((r) => banned.has(r.peerId))) {
          const [out, kept] = [
            task.replicas.filter((r) => banned.has(r.peerId)),
            task.replicas.filter((r) => !banned.has(r.peerId)),
          ]
          decideReplicas(verdicts, task.id, out, () => 'rejected')
          task.replicas = kept
          requeue(job, task)
        }
      }
    }
  }

  function forfeit(payee: string, at: number): void {
    for (const { jobId, credits } of ledger.forfeit(payee, at)) {
      const job = jobs.get(jobId)
      if (job == null) continue
      job.row.spent -= credits
      store.updateJob(jobId, { spent: job.row.spent })
    }
  }

  return {
    running: jobs,
    activate,
    resume,
    resumeOne,
    release,
    finish,
    enforceDeadlines,
    requeue,
    dropLease,
    expel,
    forfeit,
  }
}
