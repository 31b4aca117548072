import type { JobWaiting, TaskStates, WaitingReason } from '@tabswarm/protocol'
import type { Contributor } from '../contributors/contributor-registry.ts'
import { mismatch } from '../leases/capability-match.ts'
import type { LeaseTable } from '../leases/lease-table.ts'
import { deviceFits } from '../leases/scheduler.ts'
import type { JobRuntime, TaskRuntime } from './job-runtime.ts'

/** What the coordinator knows now that decides what a running job waits for. */
export interface WaitingWorld {
  /** The contributors online (banned ones are left out here). */
  contributors(): Iterable<Contributor>
  leases: Pick<LeaseTable, 'get' | 'heldBy'>
  /** Whether `c` may take this task (the scheduler's rule: never a task it or its kin answered). */
  mayRun(c: Contributor, task: TaskRuntime): boolean
}

/**
 * Tasks awaiting a second opinion that are looked at to tell whether any contributor may
 * give one: as many as the scheduler skips in a job's queue before it gives up on it.
 */
const SECOND_OPINION_SAMPLE = 64

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`
/** "1 task awaits", "3 tasks await". */
const verb = (n: number, singular: string, plural: string) => (n === 1 ? singular : plural)

/** Where a contributor's work is now, as far as one job goes. */
type Engagement = 'this job' | 'other jobs' | 'free'

/**
 * What a running job waits for, from the first reason that applies, in the order
 * `WaitingReasonSchema` documents: nobody online; nobody online who can run it; results
 * waiting for a second opinion nobody free may give; everyone who could run it busy with
 * other jobs; else it is being computed. A job whose every task has a result waits only
 * for the check that confirms what was accepted on credibility alone.
 *
 * "Free" is holding no lease: a contributor computes one task at a time. A contributor
 * that holds a lease of this job counts as working on it, so a job some contributors are
 * computing is `computing` even when others are busy elsewhere.
 *
 * O(contributors), plus O(tasks) once some wait for a second opinion; never on the lease or
 * result path (see `job-watch.ts`).
 */
export function jobWaiting(job: JobRuntime, states: TaskStates, world: WaitingWorld): JobWaiting {
  const online: Contributor[] = []
  for (const c of world.contributors()) if (!c.record.banned) online.push(c)
  const n = online.length
  const waiting = (reason: WaitingReason, tasks: number, message: string): JobWaiting => ({
    reason,
    tasks,
    contributorsOnline: n,
    message,
  })
  const unfinished = states.queued + states.leased + states.awaitingSecondOpinion

  if (unfinished === 0) {
    const k = states.awaitingConfirmation
    return waiting(
      'confirmation',
      k,
      k === 0
        ? 'every task has a result; the job is settling'
        : `${count(k, 'task')} accepted on one contributor's credibility alone ${verb(k, 'awaits', 'await')} the check that confirms ${verb(k, 'it', 'them')}`,
    )
  }
  if (n === 0)
    return waiting(
      'no-contributors',
      unfinished,
      'no contributors online; the job waits for one to join',
    )

  const capable: Contributor[] = []
  let refusal: string | undefined
  for (const c of online) {
    if (deviceFits(c, job)) capable.push(c)
    else refusal ??= mismatch(c.capabilities, job.need)
  }
  if (capable.length === 0)
    return waiting(
      'no-capable-contributors',
      unfinished,
      `${n === 1 ? '1 contributor online, who cannot' : `${n} contributors online, none of whom can`} run this job's tasks (${refusal ?? 'unknown'}); the job waits for one that can`,
    )

  const jobId = job.row.id
  const engagement = (c: Contributor): Engagement => {
    let elsewhere = false
    for (const leaseId of world.leases.heldBy(c.peerId)) {
      const lease = world.leases.get(leaseId)
      if (lease == null) continue
      if (lease.jobId === jobId) return 'this job'
      elsewhere = true
    }
    return elsewhere ? 'other jobs' : 'free'
  }

  if (states.awaitingSecondOpinion > 0) {
    const awaiting: TaskRuntime[] = []
    for (const task of job.tasks) {
      if (task.accepted || task.leases.size > 0 || task.replicas.length === 0) continue
      awaiting.push(task)
      if (awaiting.length === SECOND_OPINION_SAMPLE) break
    }
    let busyElsewhere = 0
    let stalled = true
    for (const c of capable) {
      if (!awaiting.some((task) => world.mayRun(c, task))) continue
      if (engagement(c) !== 'other jobs') {
        stalled = false
        break
      }
      busyElsewhere++
    }
    if (stalled) {
      const k = states.awaitingSecondOpinion
      const replication = job.row.spec.verification?.replication
      const why =
        replication != null
          ? `the job asks for ${replication} agreeing results`
          : 'results from newcomers are checked by replication'
      const who =
        busyElsewhere > 0
          ? `${count(n, 'contributor')} online; ${busyElsewhere === 1 ? 'the one who may give one is' : `the ${busyElsewhere} who may give one are`} busy with other jobs`
          : n === 1
            ? '1 contributor online, who computed them'
            : `${n} contributors online, none of whom may give one`
      return waiting(
        'second-opinion',
        k,
        `${count(k, 'task')} ${verb(k, 'awaits', 'await')} a second opinion from a different contributor (${why}); ${who}`,
      )
    }
  }

  let onThisJob = 0
  let free = 0
  for (const c of capable) {
    const where = engagement(c)
    if (where === 'this job') onThisJob++
    else if (where === 'free') free++
  }
  if (onThisJob === 0 && free === 0) {
    const m = capable.length
    return waiting(
      'contributors-busy',
      unfinished,
      m < n
        ? `${count(n, 'contributor')} online; ${m === 1 ? 'the one who can run this job is' : `the ${m} who can run this job are`} busy with other jobs`
        : n === 1
          ? '1 contributor online, busy with other jobs'
          : `${n} contributors online, all busy with other jobs`,
    )
  }
  if (states.leased > 0)
    return waiting(
      'computing',
      states.leased,
      `${count(states.leased, 'task')} being computed by ${count(onThisJob, 'contributor')}`,
    )
  const blocked = states.blocked ?? 0
  return waiting(
    'computing',
    0,
    `${count(unfinished, 'task')} queued for ${count(capable.length, 'contributor')} online who can run ${verb(unfinished, 'it', 'them')}${blocked > 0 ? `; ${count(blocked, 'more task')} ${verb(blocked, 'waits', 'wait')} for the step before ${verb(blocked, 'it', 'them')}` : ''}`,
  )
}

/** Whether two waitings say the same: a progress event goes out only when they do not. */
export function sameWaiting(a: JobWaiting | undefined, b: JobWaiting | undefined): boolean {
  return (
    a === b ||
    (a != null &&
      b != null &&
      a.reason === b.reason &&
      a.tasks === b.tasks &&
      a.contributorsOnline === b.contributorsOnline &&
      a.message === b.message)
  )
}
