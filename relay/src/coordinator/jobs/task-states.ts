import type { TaskStates } from '@tabswarm/protocol'
import type { StoredJob } from '../../store/coordinator-store.ts'
import type { JobRuntime } from './job-runtime.ts'

/**
 * Where a running job's tasks are, one pass over them. A task not accepted is `leased`
 * while anyone holds it, else `awaitingSecondOpinion` while results of it wait for an
 * agreeing one, else `queued`; an accepted one is `awaitingConfirmation` while it stands on
 * one contributor's credibility alone (a provisional acceptance), else `accepted`. An
 * inference pipeline's task not ready yet (its previous step not accepted) is `blocked`; a
 * task of a sequence that ended early is `closed`. The states partition `total`.
 *
 * O(tasks): called for views and on the job watch's timer, never per lease or result.
 */
export function taskStates(job: JobRuntime): TaskStates {
  let queued = 0
  let leased = 0
  let awaitingSecondOpinion = 0
  let accepted = 0
  let blocked = 0
  let closed = 0
  const inputs = job.inputs
  const pipeline = inputs.kind === 'inference' && inputs.spec.mode === 'pipeline'
  for (const task of job.tasks) {
    if (task.accepted) {
      if (inputs.kind === 'inference' && inputs.closed.has(task.index)) closed++
      else accepted++
    } else if (task.leases.size > 0) leased++
    else if (task.replicas.length > 0) awaitingSecondOpinion++
    else if (pipeline && !task.queued) blocked++
    else queued++
  }
  const awaitingConfirmation = Math.min(job.provisional.size, accepted)
  return {
    total: job.tasks.length,
    queued,
    leased,
    awaitingSecondOpinion,
    awaitingConfirmation,
    accepted: accepted - awaitingConfirmation,
    ...(pipeline ? { blocked } : {}),
    ...(closed > 0 ? { closed } : {}),
  }
}

/**
 * The task states of a job that is not running (or not in memory): what was accepted, and
 * the rest counted as queued, since nothing holds or waits on them any more. A job that
 * ends publishes its provisional acceptances as they are, so none awaits confirmation.
 */
export function storedTaskStates(row: StoredJob): TaskStates {
  const accepted = Math.min(row.acceptedTasks, row.totalTasks)
  const closed = Math.min(row.closedTasks ?? 0, row.totalTasks - accepted)
  return {
    total: row.totalTasks,
    queued: row.totalTasks - accepted - closed,
    leased: 0,
    awaitingSecondOpinion: 0,
    awaitingConfirmation: 0,
    accepted,
    ...(closed > 0 ? { closed } : {}),
  }
}
