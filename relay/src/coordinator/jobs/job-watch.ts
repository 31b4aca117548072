import type { TaskStates } from '@tabswarm/protocol'
import type { Logger } from '../../log.ts'
import type { Clock } from '../clock.ts'
import type { JobHistories } from './job-history.ts'
import { jobSample } from './job-history.ts'
import type { JobPublication } from './job-publication.ts'
import type { JobRuntime } from './job-runtime.ts'
import { jobView } from './job-view.ts'
import { jobWaiting, sameWaiting, type WaitingWorld } from './job-waiting.ts'
import { taskStates } from './task-states.ts'

export interface JobWatchDeps {
  /** The running jobs. */
  jobs: ReadonlyMap<string, JobRuntime>
  histories: Pick<JobHistories, 'due' | 'record'>
  world: WaitingWorld
  publication: Pick<JobPublication, 'publish'>
  clock: Clock
  log: Logger
  /**
   * How often the running jobs are looked at: what listened-to jobs wait for is worked out
   * again, and a progress event goes out when it changed, so at most one per job per look.
   * @default 500
   */
  intervalMs?: number
}

/**
 * Watches the running jobs from a timer rather than from the lease and result paths, which
 * carry thousands of task cycles a second: a look walks a job's tasks (`taskStates`), so it
 * is taken only for a job someone listens to (to tell them when what it waits for changes)
 * or whose history is due a sample. A view (`refresh`) works it out on demand.
 */
export interface JobWatch {
  /** Works out what a running job waits for now (kept as `job.waiting`); returns its task states. */
  refresh(job: JobRuntime): TaskStates
  /**
   * A listener subscribes: if it is the first, what it is told first (the job as it is now)
   * is what later changes are compared with.
   */
  subscribed(job: JobRuntime, first: boolean): void
  /** One look at every running job (the timer's; tests call it too). */
  tick(): void
  start(): void
  stop(): void
}

export function createJobWatch(deps: JobWatchDeps): JobWatch {
  const { jobs, histories, world, publication, clock, log } = deps
  const intervalMs = deps.intervalMs ?? 500
  let timer: ReturnType<typeof setInterval> | undefined
  let failing = false

  function refresh(job: JobRuntime): TaskStates {
    const states = taskStates(job)
    job.waiting = jobWaiting(job, states, world)
    return states
  }

  function tick(): void {
    const now = clock.now()
    for (const job of jobs.values()) {
      const listened = job.listeners.size > 0
      const due = histories.due(job.row.id, now)
      if (!listened && !due) continue
      const states = listened ? refresh(job) : taskStates(job)
      if (due) histories.record(job.row.id, jobSample(now, states, job.row))
      if (!listened || sameWaiting(job.waiting, job.waitingTold)) continue
      job.waitingTold = job.waiting
      publication.publish(job, () => ({ type: 'progress', job: jobView(job.row, job) }))
    }
  }

  return {
    refresh,

    subscribed(job, first) {
      if (!first && job.waitingTold != null) return
      refresh(job)
      job.waitingTold = job.waiting
    },

    tick,

    start() {
      if (timer != null) return
      timer = setInterval(() => {
        try {
          tick()
          failing = false
        } catch (err) {
          // A look that throws is a bug; the coordinator serves on, and the log says it once.
          if (!failing) log.error('job watch failed', { error: err })
          failing = true
        }
      }, intervalMs)
      timer.unref?.()
    },

    stop() {
      clearInterval(timer)
      timer = undefined
    },
  }
}
