import type { JobView } from '@tabswarm/protocol'
import type { CoordinatorStore, StoredJob } from '../../store/coordinator-store.ts'
import type { JobEvent } from '../coordinator-api.ts'
import type { JobRuntime } from './job-runtime.ts'
import { jobView } from './job-view.ts'

export interface JobPublication {
  /**
   * Tells the job's listeners once what happened so far is committed, in order; `then`
   * runs just before, in the same turn. `event` is built now, as things stand, and only
   * when someone listens: most jobs have no listener, and their results come by the
   * thousand.
   */
  publish(job: JobRuntime, event: () => JobEvent, then?: () => void): void
  /**
   * The job ended (`event` says how): readers see it as `before` until the end is
   * committed, then listeners hear `event` and are let go.
   */
  end(job: JobRuntime, before: JobView, event: JobEvent): void
  /** A job that ended but whose end is not committed yet. */
  ending(id: string): JobRuntime | undefined
  /** A result row was written with this `seq`: hidden from readers until committed. */
  wrote(seq: number): void
  /** Whether readers may see the result row `seq`. */
  visible(seq: number): boolean
  /**
   * Resolves once every change made before the call is committed and published: of job
   * `job` when given, else of every ending job.
   */
  settled(job?: JobRuntime): Promise<void>
  /** What readers may see of a job: its committed state. */
  view(row: StoredJob, live?: JobRuntime): JobView
}

/**
 * Publication after durability: the store commits in groups, so an event (or a read) that
 * ran ahead of the commit could show a result that a crash then loses, and whose `seq`
 * SQLite then gives to another result; a client resuming from it would miss that one.
 * Events wait for their commit in a per-job outbox; reads wait for it and see rows up to
 * the highest committed `seq`; a job's end is visible once committed.
 */
export function createJobPublication(store: CoordinatorStore): JobPublication {
  const closing = new Map<string, { job: JobRuntime; before: JobView }>()
  // Highest result seq known committed; Infinity: every stored row is (nothing written yet).
  let durableSeq = Number.POSITIVE_INFINITY

  function emit(job: JobRuntime, event: JobEvent): void {
    for (const listener of [...job.listeners]) {
      try {
        listener(event)
      } catch {
        // A listener's failure is its own; the coordinator goes on.
      }
    }
  }

  // The open commit group that result rows were written in, and the highest seq among
  // them; one callback per group moves the watermark.
  let batch: { done: Promise<void>; maxSeq: number } | undefined

  function publish(job: JobRuntime, event: () => JobEvent, then?: () => void): void {
    // Nobody to tell: a listener that subscribes later reads the job's state and results
    // itself (committed ones only), so skipping loses nothing.
    if (job.listeners.size === 0 && then == null) return
    // Built now: by the time of the commit the job may have moved on, uncommitted.
    const told = event()
    const durable = store.flushed()
    job.outbox = job.outbox
      .then(() => durable)
      .then(
        () => {
          then?.()
          emit(job, told)
        },
        // The commit failed: nothing of it happened, so there is nothing to tell.
        () => {},
      )
  }

  return {
    publish,

    end(job, before, event) {
      closing.set(job.row.id, { job, before })
      publish(
        job,
        () => event,
        () => closing.delete(job.row.id),
      )
      job.outbox = job.outbox.then(() => job.listeners.clear())
    },

    ending: (id) => closing.get(id)?.job,

    wrote(seq) {
      if (durableSeq >= seq) durableSeq = seq - 1
      const done = store.flushed()
      // Same promise, callback not run yet: the same group.
      if (batch != null && batch.done === done) {
        if (seq > batch.maxSeq) batch.maxSeq = seq
        return
      }
      const group = { done, maxSeq: seq }
      batch = group
      void done.then(
        () => {
          if (batch === group) batch = undefined
          if (group.maxSeq > durableSeq) durableSeq = group.maxSeq
        },
        () => {
          if (batch === group) batch = undefined
        },
      )
    },

    visible: (seq) => seq <= durableSeq,

    async settled(job) {
      const outboxes =
        job != null ? [job.outbox] : [...closing.values()].map(({ job: j }) => j.outbox)
      await Promise.all([store.flushed(), ...outboxes])
    },

    view(row, live) {
      const ending = closing.get(row.id)
      if (ending != null) return ending.before
      return jobView(row, live)
    },
  }
}
