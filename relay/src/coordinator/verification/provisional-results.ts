import type { TaskResultRecord } from '@tabswarm/protocol'
import type { BlobStore } from '../../blobs/blob-store.ts'
import type { Ledger } from '../../ledger/ledger.ts'
import type { Logger } from '../../log.ts'
import type { CoordinatorStore } from '../../store/coordinator-store.ts'
import type { Clock } from '../clock.ts'
import type {
  Contributor,
  ContributorIdentity,
  ContributorRegistry,
} from '../contributors/contributor-registry.ts'
import type { ResultTensor } from '../coordinator-api.ts'
import type { CoordinatorCounters } from '../coordinator-counters.ts'
import { tallyCompute } from '../jobs/compute-tally.ts'
import type { JobPublication } from '../jobs/job-publication.ts'
import type { JobRuntime, ProvisionalAcceptance } from '../jobs/job-runtime.ts'
import { jobView } from '../jobs/job-view.ts'
import type { Scheduler } from '../leases/scheduler.ts'
import type { ResultVerifier } from './result-verifier.ts'

export interface ProvisionalResultsDeps {
  store: CoordinatorStore
  blobs: BlobStore
  ledger: Ledger
  clock: Clock
  log: Logger
  counters: CoordinatorCounters
  jobs: ReadonlyMap<string, JobRuntime>
  contributors: ContributorRegistry
  scheduler: Pick<Scheduler, 'requeue' | 'markFailed'>
  verifier: ResultVerifier
  publication: JobPublication
  /** The provisional acceptances' rows, which this mechanism confirms or undoes. */
  rows: ProvisionalRows
  /** Takes the leases and waiting replicas of newly banned contributors away. */
  expel(outcast: readonly Contributor[]): void
}

/**
 * A job's provisional acceptances as rows: read back at a restart, added, published once
 * confirmed. Kept apart from the checks that confirm or undo them (`ProvisionalResults`),
 * so that the job book, which those checks need, can take them first: it loads them when a
 * job starts and releases them when it ends.
 */
export interface ProvisionalRows {
  /** Reads a resumed job's provisional acceptances back from the store. */
  load(job: JobRuntime): void
  /** A trusted-only acceptance was just written (its row marked provisional, seq `entry.seq`). */
  add(job: JobRuntime, entry: ProvisionalAcceptance): void
  /**
   * `who` passed an independent check on `job`: its provisional acceptances there are
   * published (new seqs) and no longer undone if it is caught. In the caller's transaction.
   */
  confirm(job: JobRuntime, who: { peerId: string }): void
  /**
   * The job ends without its check (failed, cancelled): what it accepted is published as it
   * is, as before this mechanism existed. In `finish`'s transaction.
   */
  release(job: JobRuntime): void
}

export function createProvisionalRows(deps: {
  store: CoordinatorStore
  publication: JobPublication
}): ProvisionalRows {
  const { store, publication } = deps

  function publishConfirmed(job: JobRuntime, entry: ProvisionalAcceptance): void {
    const seq = store.confirmResult(job.row.id, entry.taskIndex)
    job.provisional.delete(entry.taskIndex)
    if (seq == null) return
    publication.wrote(seq)
    publication.publish(job, () => {
      const result: TaskResultRecord = {
        seq,
        taskId: entry.taskId,
        index: entry.taskIndex,
        outputs: entry.outputs,
        method: 'trusted',
        acceptedAt: entry.acceptedAt,
      }
      return { type: 'result', job: jobView(job.row, job), result }
    })
  }

  return {
    load(job) {
      for (const r of store.provisionalResults(job.row.id))
        job.provisional.set(r.taskIndex, {
          taskIndex: r.taskIndex,
          taskId: r.taskId,
          leaseId: r.leaseId,
          peerId: r.peerId,
          payee: r.payee,
          outputs: r.outputs,
          acceptedAt: r.acceptedAt,
          seq: r.seq ?? 0,
        })
    },

    add: (job, entry) => void job.provisional.set(entry.taskIndex, entry),

    confirm(job, who) {
      if (job.provisional.size === 0) return
      for (const entry of [...job.provisional.values()])
        if (entry.peerId === who.peerId) publishConfirmed(job, entry)
    },

    release(job) {
      for (const entry of [...job.provisional.values()]) publishConfirmed(job, entry)
    },
  }
}

/**
 * Backtracking (Sarmenta, "Sabotage-tolerance mechanisms for volunteer computing systems"):
 * a result accepted on its contributor's credibility alone (`trusted`) is only as good as
 * that contributor turns out to be. A long record earns credibility, and a sleeper can earn
 * it honestly and then turn: its spot checks catch it, but only after it got results
 * accepted on credibility alone. So such an acceptance stays provisional (its row marked,
 * hidden from readers, its pay pending) until its contributor passes an independent check
 * on the same job after it (a recomputation, a Freivalds pass, a canary answered right). If
 * the contributor is caught first, every provisional acceptance of its is undone in the
 * fault's own transaction: the task goes back to the queue (not to that contributor), its
 * pay back to escrow, the job's counts down by one.
 *
 * Checks passed on other jobs confirm nothing here: a job's policy is known to whoever runs
 * its tasks, so a sleeper could be honest where Freivalds checks and wrong where only votes
 * do. Agreement with another contributor confirms nothing either (colluders agree), but for
 * the deliberate second replica of the settlement check below.
 *
 * The window closes before settlement: a job whose tasks are all accepted but which still
 * holds provisional acceptances checks the latest one of each contributor (recomputed on
 * the coordinator for matmul; for custom kernels, taken back and given to a second distinct
 * contributor whose agreement is required). A contributor that turned wrong for good is
 * wrong on its latest result too, so it is caught and backtracked; one that passes has its
 * earlier provisional acceptances confirmed with it. One extra check per trusted contributor
 * per job: what an honest one costs.
 */
export interface ProvisionalResults extends ProvisionalRows {
  /**
   * Faults `c` (see `ContributorRegistry.fault`) and undoes every provisional acceptance of
   * `c` and of every contributor the fault bans, in every running job, in the caller's
   * transaction. Returns those it bans, for the caller to `expel` once committed.
   */
  fault(c: Contributor, reason: string, where?: { job: string; task: number }): Contributor[]
  /**
   * Whether `job`, whose tasks are all accepted, may settle: when provisional acceptances
   * remain, checks the latest of each contributor first (which may undo some, or take one
   * back for a second replica) and says whether all are still accepted and confirmed.
   */
  settleable(job: JobRuntime): boolean
}

export function createProvisionalResults(deps: ProvisionalResultsDeps): ProvisionalResults {
  const { store, blobs, ledger, clock, log, counters, jobs, contributors, verifier } = deps
  const { publication, rows, expel } = deps
  const { confirm } = rows
  const { requeue, markFailed } = deps.scheduler

  const caughtBy = (caught: readonly ContributorIdentity[], e: { peerId: string; payee: string }) =>
    caught.some((c) => c.peerId === e.peerId || c.payee === e.payee)

  /** Undoes the acceptances of `entries` of `job` (inside the caller's transaction). */
  function undoEntries(
    job: JobRuntime,
    entries: readonly ProvisionalAcceptance[],
    why: 'caught' | 'second opinion',
  ): void {
    if (entries.length === 0) return
    const at = clock.now()
    const row = job.row
    for (const entry of entries) {
      job.provisional.delete(entry.taskIndex)
      store.deleteResult(row.id, entry.taskIndex)
      // The faulted contributor's pending credit is forfeited whole already; this takes back
      // the pay of another one caught with it (a ban by wallet or address).
      row.spent -= ledger.unpay(row.id, `pay:${entry.leaseId}`, at, `unpay:${entry.leaseId}`)
      row.acceptedTasks--
      tallyCompute(store, job, entry.taskIndex, entry.acceptedAt, -1)
      const task = job.tasks[entry.taskIndex]!
      task.accepted = false
      task.answer = null
      markFailed(task, entry)
      requeue(job, task)
    }
    store.updateJob(row.id, { acceptedTasks: row.acceptedTasks, spent: row.spent })
    log[why === 'caught' ? 'warn' : 'info']('trusted acceptances undone', {
      why,
      job: row.id,
      tasks: entries.length,
      peer: entries[0]!.peerId,
    })
    publication.publish(job, () => ({ type: 'progress', job: jobView(row, job) }))
  }

  function undo(caught: readonly ContributorIdentity[]): void {
    for (const job of jobs.values()) {
      if (job.row.status !== 'running') continue
      if (job.provisional.size > 0)
        undoEntries(
          job,
          [...job.provisional.values()].filter((e) => caughtBy(caught, e)),
          'caught',
        )
      // A trusted answer waiting for its second replica: its contributor was caught, so it
      // counts for nothing now (the vote goes on among the others).
      for (const task of job.tasks) {
        if (task.confirming == null || !caughtBy(caught, task.confirming)) continue
        const by = task.confirming
        task.confirming = undefined
        task.replicas = task.replicas.filter((r) => r.peerId !== by.peerId)
      }
    }
  }

  function fault(c: Contributor, reason: string, where?: { job: string; task: number }) {
    return store.transaction(() => {
      const outcast = contributors.fault(c, reason, where)
      undo([c, ...outcast])
      return outcast
    })
  }

  /** Recomputes `entry`'s tile on the coordinator: confirms its contributor's, or undoes them. */
  function recheck(job: JobRuntime, entry: ProvisionalAcceptance): void {
    if (job.inputs.kind !== 'matmul') return
    const ref = entry.outputs[0]!
    const bytes = blobs.get(ref.blob)
    const output: ResultTensor | undefined =
      bytes == null ? undefined : { shape: ref.shape, dtype: ref.dtype, bytes }
    // `verified` 0: recomputed whatever the contributor's record, as a newcomer's is.
    const verdict =
      output == null ? undefined : verifier.checkTile(job.inputs, entry.taskIndex, output, {}, 0)
    if (verdict?.kind === 'accept' || verdict?.kind === 'reject') {
      counters.spotChecks++
      counters.spotCheckedFlops += verdict.recomputedFlops
      counters.count(verdict.kind === 'accept' ? 'accepted' : 'rejected', verdict.method)
    }
    const c = contributors.get(entry.peerId)
    if (verdict?.kind === 'accept') {
      store.transaction(() => confirm(job, entry))
      if (c != null) contributors.credit(c)
      return
    }
    let outcast: Contributor[] = []
    store.transaction(() => {
      if (c != null && verdict != null) {
        job.row.rejectedResults++
        store.updateJob(job.row.id, { rejectedResults: job.row.rejectedResults })
        outcast = fault(c, 'wrong result found by the check before settlement', {
          job: job.row.id,
          task: entry.taskIndex,
        })
      }
      // Gone offline (nobody to fault), or its bytes are gone: still nothing stands on it.
      undo([entry])
    })
    expel(outcast)
  }

  /**
   * Takes a custom task's trusted answer back and waits for a second distinct contributor
   * to agree with it: no coordinator recomputes custom kernels.
   */
  function reopen(job: JobRuntime, entry: ProvisionalAcceptance): void {
    const outputs: ResultTensor[] = []
    for (const ref of entry.outputs) {
      const bytes = blobs.get(ref.blob)
      if (bytes != null) outputs.push({ shape: ref.shape, dtype: ref.dtype, bytes })
    }
    const c = contributors.get(entry.peerId)
    const identity: ContributorIdentity = {
      peerId: entry.peerId,
      payee: entry.payee,
      ...(c?.address != null ? { address: c.address } : {}),
    }
    store.transaction(() => undoEntries(job, [entry], 'second opinion'))
    const task = job.tasks[entry.taskIndex]!
    if (outputs.length === entry.outputs.length) {
      task.confirming = identity
      // A lease id of its own: the pay it earns if confirmed is a new payment (its first
      // was taken back above), and ledger refs are paid at most once.
      task.replicas = [
        { leaseId: `${entry.leaseId}:confirming`, ...identity, outputs, reopened: true },
      ]
    }
  }

  return {
    load: rows.load,
    add: rows.add,
    confirm,
    release: rows.release,
    fault,

    settleable(job) {
      if (job.provisional.size > 0) {
        const latest = new Map<string, ProvisionalAcceptance>()
        for (const e of job.provisional.values()) {
          const seen = latest.get(e.peerId)
          if (seen == null || e.seq > seen.seq) latest.set(e.peerId, e)
        }
        for (const entry of latest.values()) {
          if (!job.provisional.has(entry.taskIndex)) continue
          if (job.inputs.kind === 'matmul') recheck(job, entry)
          else reopen(job, entry)
        }
      }
      // An inference job's closed tasks (sequences that ended early) count as done.
      return (
        job.provisional.size === 0 &&
        job.row.acceptedTasks + (job.row.closedTasks ?? 0) === job.row.totalTasks
      )
    },
  }
}
