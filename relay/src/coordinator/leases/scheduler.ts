import type { JobSpec } from '@tabswarm/protocol'
import {
  type Contributor,
  type ContributorRegistry,
  sameContributor,
} from '../contributors/contributor-registry.ts'
import { pipelinePlace } from '../inference/inference-inputs.ts'
import type { JobRuntime, TaskRuntime } from '../jobs/job-runtime.ts'
import { mismatch } from './capability-match.ts'
import type { LeaseTable } from './lease-table.ts'

/** Stride scheduling's big number: a job's pass grows by STRIDE / priority per lease. */
const STRIDE = 1 << 20

/** At most this many queued tasks are skipped (a contributor's own replicas) per look. */
const MAX_SKIPPED = 64

export interface SchedulerOptions {
  leases: LeaseTable
  contributors: ContributorRegistry
  random: () => number
  /** A task leased this long without a result gets a speculative duplicate once the queue is empty. */
  speculateAfterMs: number
  /** A device that takes longer for a matmul tile gets one only when nobody faster is around. */
  maxTaskSeconds: number
  /** Fraction of leases that are canaries, per job. */
  canaryRate(spec: JobSpec): number
  /** Whether this accepted task's known answer can test `c` (see `KnownAnswers.canTest`); no I/O. */
  canTest(job: JobRuntime, task: TaskRuntime, c: Contributor): boolean
  /**
   * How long a pipeline stage's next step waits for the peer that ran its previous step
   * (which holds the sequence's KV cache) before anyone else may take it and replay the
   * prefix. @default 1_500
   */
  stageHoldMs?: number
  /** The queue operations to use (`notifyingQueue` to hear of queued tasks). @default jobQueue */
  queue?: JobQueue
}

/** What to lease to a contributor: a task of a job, as a canary or not. */
export interface Pick {
  job: JobRuntime
  task: TaskRuntime
  canary: boolean
}

/**
 * The scheduler's queue operations: they hold no state of their own (only the job's), so
 * the job book takes them before the scheduler, which needs the contributors, exists.
 */
export interface JobQueue {
  /** Puts a task back at the end of its job's queue (unless accepted or queued already). */
  requeue(job: JobRuntime, task: TaskRuntime): void
  /** Puts a task back at the front: the next lease takes it. */
  requeueFirst(job: JobRuntime, task: TaskRuntime): void
  /** The pass a new job starts at: level with the least-served one, no burst, no starvation. */
  startPass(jobs: Iterable<JobRuntime>): number
}

/**
 * Whether `c`'s device can hold and run the job's tasks (kernel, features, buffer and
 * dispatch limits, its memory cap: see `mismatch`), worked out once per contributor and job.
 */
export function deviceFits(c: Contributor, job: JobRuntime): boolean {
  let fits = job.fits.get(c)
  if (fits == null) {
    fits = mismatch(c.capabilities, job.need) == null
    job.fits.set(c, fits)
  }
  return fits
}

export const jobQueue: JobQueue = {
  requeue(job, task) {
    if (task.accepted || task.queued || job.row.status !== 'running') return
    task.queued = true
    job.ready.push(task.index)
  },

  requeueFirst(job, task) {
    if (task.accepted || task.queued || job.row.status !== 'running') return
    task.queued = true
    if (job.head > 0) job.ready[--job.head] = task.index
    else job.ready.unshift(task.index)
  },

  startPass(running) {
    let pass = Number.POSITIVE_INFINITY
    for (const other of running) pass = Math.min(pass, other.pass)
    return Number.isFinite(pass) ? pass : 0
  },
}

/**
 * `jobQueue`, calling `queued()` after each task it puts in a queue (not after one it
 * leaves out: accepted, queued already or of an ended job).
 */
export function notifyingQueue(queued: () => void): JobQueue {
  return {
    requeue(job, task) {
      if (task.queued) return
      jobQueue.requeue(job, task)
      if (task.queued) queued()
    },
    requeueFirst(job, task) {
      if (task.queued) return
      jobQueue.requeueFirst(job, task)
      if (task.queued) queued()
    },
    startPass: jobQueue.startPass,
  }
}

export interface Scheduler extends JobQueue {
  /**
   * The next task for `c` among the running jobs: now and then a canary; else the queued
   * task of the least-served job it can run; else, once a job's queue is empty, a
   * speculative duplicate of a task held too long. Charges the job it picks.
   */
  pick(c: Contributor, jobs: Iterable<JobRuntime>, now: number): Pick | undefined
  /**
   * The queued task of the least-served job that `accept` admits, for a stand-in that is
   * not a device (tasks offered to the cluster's other relays): no canary, no speculative
   * duplicate, no capability or speed matching (the relay that runs it matches its own
   * contributors), but the replica rules of `mayRun` hold. Charges the job it picks.
   */
  pickQueued(
    c: Contributor,
    jobs: Iterable<JobRuntime>,
    now: number,
    accept: (job: JobRuntime) => boolean,
  ): Pick | undefined
  /** Whether `c` may take this task (see the rules at `mayRun` below). */
  mayRun(c: Contributor, task: TaskRuntime): boolean
  /** `c` got this task wrong, or cannot run it: it never gets it again. */
  markFailed(task: TaskRuntime, c: { peerId: string; payee: string }): void
}

/**
 * Who runs what next: stride scheduling between jobs (shares proportional to priority),
 * a FIFO queue per job, capability and speed matching, distinct contributors per task,
 * speculative duplicates for a slow tail, and canaries sampled among the leases.
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const { leases, contributors, random } = options

  /**
   * Never a task this contributor (peer or wallet) got wrong, and never a task that a
   * contributor sharing its peer id, wallet or network address holds or answered: not a
   * replica, not a speculative duplicate.
   */
  function mayRun(c: Contributor, task: TaskRuntime): boolean {
    if (task.failedBy.has(`peer:${c.peerId}`) || task.failedBy.has(`payee:${c.payee}`)) return false
    for (const leaseId of task.leases) {
      const lease = leases.get(leaseId)
      const holder = lease == null ? undefined : contributors.get(lease.peerId)
      if (lease?.peerId === c.peerId || (holder != null && sameContributor(c, holder))) return false
    }
    for (const replica of task.replicas) if (sameContributor(c, replica)) return false
    return true
  }

  /**
   * The device can hold and run the job's tasks (kernel, features, buffer and dispatch
   * limits; remembered per job), and runs a matmul tile within `maxTaskSeconds` at its
   * measured speed, unless no faster device is around to take it.
   */
  function suits(c: Contributor, job: JobRuntime, fastest: number): boolean {
    if (!deviceFits(c, job)) return false
    const inputs = job.inputs
    if (inputs.kind !== 'matmul') return true
    const edge = job.row.tileRows ?? 128
    const flops = 2 * Math.min(edge, inputs.m) * Math.min(edge, inputs.n) * inputs.k
    return flops / (c.gflops * 1e9) <= options.maxTaskSeconds || c.gflops >= fastest
  }

  /**
   * Affinity: a pipeline step waits `stageHoldMs` for the online peer that ran the same
   * stage of the same sequence last (it holds the KV cache); anyone else takes it after
   * that, or at once when that peer left, was banned or failed this task (the replay
   * prefix rebuilds the cache). Replicas go to others anyway.
   *
   * Spread: a stage nobody holds yet (the first step, or its holder left) waits as long
   * for a peer holding no stage of the sequence, while one is online that could run it:
   * each shard lands on a tab of its own, which is what lets a model bigger than one tab
   * run at all, and keeps one tab from holding two shards' weights and caches.
   */
  function held(job: JobRuntime, task: TaskRuntime, c: Contributor, now: number): boolean {
    const inputs = job.inputs
    if (inputs.kind !== 'inference' || inputs.spec.mode !== 'pipeline') return false
    if (task.replicas.length > 0) return false
    const place = pipelinePlace(inputs, task.index)
    const seq = inputs.sequences[place.sequence]
    if (seq == null || now - seq.readyAt >= (options.stageHoldMs ?? 1_500)) return false
    const holder = seq.holder[place.stage]
    if (holder === c.peerId) return false
    const peer = holder == null ? undefined : contributors.get(holder)
    if (peer != null && !peer.record.banned && !task.failedBy.has(`peer:${holder}`)) return true
    if (!seq.holder.includes(c.peerId)) return false
    for (const other of contributors.values())
      if (
        other !== c &&
        !other.record.banned &&
        !seq.holder.includes(other.peerId) &&
        mayRun(other, task) &&
        deviceFits(other, job)
      )
        return true
    return false
  }

  function nextQueued(job: JobRuntime, c: Contributor, now: number): TaskRuntime | undefined {
    // Skip, but keep, tasks this contributor may not run (its own replica, a failed try).
    let skipped = 0
    for (let i = job.head; i < job.ready.length && skipped < MAX_SKIPPED; i++) {
      const task = job.tasks[job.ready[i]!]!
      if (task.accepted || !task.queued) {
        if (i === job.head) job.head++
        continue
      }
      if (!mayRun(c, task) || held(job, task, c, now)) {
        skipped++
        continue
      }
      task.queued = false
      if (i === job.head) job.head++
      else job.ready.splice(i, 1)
      // Drop the consumed front now and then, so the queue does not grow without end.
      if (job.head > 4096 && job.head * 2 > job.ready.length) {
        job.ready.splice(0, job.head)
        job.head = 0
      }
      return task
    }
    return undefined
  }

  function speculative(job: JobRuntime, c: Contributor, now: number): TaskRuntime | undefined {
    if (job.head < job.ready.length) return undefined
    for (const task of job.tasks) {
      if (task.accepted || task.leases.size !== 1) continue
      // How long the lease running now has run, not when the task was first leased: a task
      // whose first holder vanished and whose second just started is not slow yet.
      const [leaseId] = task.leases
      const running = leases.get(leaseId!)
      if (running == null || now - running.grantedAt < options.speculateAfterMs) continue
      if (mayRun(c, task)) return task
    }
    return undefined
  }

  function canary(job: JobRuntime, c: Contributor, fastest: number): TaskRuntime | undefined {
    const rate = options.canaryRate(job.row.spec)
    if (rate <= 0 || job.row.acceptedTasks === 0 || random() >= rate) return undefined
    if (!suits(c, job, fastest)) return undefined
    const start = Math.floor(random() * job.tasks.length)
    for (let i = 0; i < Math.min(job.tasks.length, MAX_SKIPPED); i++) {
      const task = job.tasks[(start + i) % job.tasks.length]!
      if (task.accepted && mayRun(c, task) && options.canTest(job, task, c)) return task
    }
    return undefined
  }

  const charge = (job: JobRuntime) => {
    job.pass += STRIDE / job.row.priority
  }

  return {
    pick(c, running, now) {
      const order = [...running].sort((x, y) => x.pass - y.pass)
      if (order.length === 0) return undefined
      const fastest = contributors.fastestGflops()
      for (const job of order) {
        const task = canary(job, c, fastest)
        if (task != null) {
          charge(job)
          return { job, task, canary: true }
        }
      }
      for (const job of order) {
        if (!suits(c, job, fastest)) continue
        const task = nextQueued(job, c, now) ?? speculative(job, c, now)
        if (task != null) {
          charge(job)
          return { job, task, canary: false }
        }
      }
      return undefined
    },

    pickQueued(c, running, now, accept) {
      const order = [...running].filter(accept).sort((x, y) => x.pass - y.pass)
      for (const job of order) {
        const task = nextQueued(job, c, now)
        if (task != null) {
          charge(job)
          return { job, task, canary: false }
        }
      }
      return undefined
    },

    ...(options.queue ?? jobQueue),

    mayRun,

    markFailed(task, c) {
      task.failedBy.add(`peer:${c.peerId}`)
      task.failedBy.add(`payee:${c.payee}`)
    },
  }
}
