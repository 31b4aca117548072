import { type Logger, silentLogger } from '../log.ts'
import type { PostgresJobOwnership } from './postgres-job-ownership.ts'

/**
 * What keeps a coordinator's jobs its own and finds the jobs nobody runs any more:
 *
 * - renews every lease every `renewMs`, and hands the jobs a renewal found lost to
 *   `onLost` (drop them from memory at once);
 * - if a job's lease was not renewed for longer than the lease (the database unreachable,
 *   the process stalled), it cannot know whether the job was taken: it forgets it and
 *   hands it to `onLost`. Fencing would refuse its writes anyway; this stops it trying.
 * - takes over lapsed jobs, a batch at a time, every `pollMs` or at once when woken
 *   (`wake()`, e.g. from `listenCluster`), and hands them to `onTaken` (load the job's rows,
 *   then resume it as a restart does).
 *
 * Database errors are counted and logged, and the work retried with backoff: the loop
 * never rejects and never throws into its caller. It ends when `signal` aborts.
 */
export interface OwnershipLoopOptions {
  ownership: PostgresJobOwnership
  /**
   * Jobs just taken over. If it throws, the jobs are handed back (`release`) for another
   * coordinator, or this one's next round.
   */
  onTaken(jobs: Array<{ jobId: string; token: bigint }>, signal: AbortSignal): Promise<void> | void
  /** Jobs this coordinator no longer holds. Must not throw (exceptions are logged). */
  onLost(jobIds: string[]): void
  signal: AbortSignal
  /** Takeover period when nothing wakes the loop. @default ownership.renewMs */
  pollMs?: number
  /** Jobs per takeover batch. @default 100 */
  batch?: number
  /**
   * How long a job's lease must have lapsed before this coordinator takes it, asked each
   * round: a coordinator with no contributors online waits, so that one with contributors
   * takes a dead or departing coordinator's jobs first. @default 0
   */
  lapsedForMs?: () => number
  /** Longest wait between takeover attempts after repeated errors. @default ownership.leaseMs */
  maxBackoffMs?: number
  log?: Logger
  /** Monotonic milliseconds. @default performance.now */
  now?: () => number
}

export interface OwnershipLoopStats {
  renewals: number
  renewErrors: number
  /** Jobs taken over. */
  taken: number
  takeOverBatches: number
  /** How long the takeover queries took (`SELECT … FOR UPDATE SKIP LOCKED`), newest 1,000, ms. */
  takeOverMs: number[]
  takeOverErrors: number
  /** Jobs lost, to renewals and to the lease running out unrenewed. */
  lost: number
  /** Times the lease ran out unrenewed and every job was dropped. */
  leaseLapses: number
}

export interface OwnershipLoop {
  /** Look for lapsed jobs now rather than at the next poll. */
  wake(): void
  stats(): OwnershipLoopStats
  /** Resolves when the loop has stopped (after `signal` aborts). */
  readonly done: Promise<void>
}

export function runOwnershipLoop(options: OwnershipLoopOptions): OwnershipLoop {
  const { ownership, signal } = options
  const log = options.log ?? silentLogger
  const now = options.now ?? (() => performance.now())
  const pollMs = options.pollMs ?? ownership.renewMs
  const batch = options.batch ?? 100
  const maxBackoff = options.maxBackoffMs ?? ownership.leaseMs
  const stats: OwnershipLoopStats = {
    renewals: 0,
    renewErrors: 0,
    taken: 0,
    takeOverBatches: 0,
    takeOverMs: [],
    takeOverErrors: 0,
    lost: 0,
    leaseLapses: 0,
  }
  /**
   * Start of the last renewal that succeeded: every lease held then lasts at least until
   * this + leaseMs (the database set its expiry after this instant, by its own clock).
   */
  let renewedAt = now()
  /** Jobs taken over since: their lease started at their takeover, not at `renewedAt`. */
  const takenAt = new Map<string, number>()
  let woken: (() => void) | undefined
  let wakePending = false

  const lose = (jobIds: string[]) => {
    if (jobIds.length === 0) return
    for (const jobId of jobIds) takenAt.delete(jobId)
    stats.lost += jobIds.length
    try {
      options.onLost(jobIds)
    } catch (err) {
      log.error('onLost threw', { err, jobs: jobIds.length })
    }
  }

  /** Resolves after `ms`, on `wake()` when `wakeable`, or when the loop stops. */
  const pause = (ms: number, wakeable: boolean) =>
    new Promise<void>((resolve) => {
      if (signal.aborted || (wakeable && wakePending)) return resolve()
      const finish = () => {
        clearTimeout(timer)
        signal.removeEventListener('abort', finish)
        if (woken === finish) woken = undefined
        resolve()
      }
      const timer = setTimeout(finish, ms)
      signal.addEventListener('abort', finish, { once: true })
      if (wakeable) woken = finish
    })

  // The lease can run out while a renewal hangs (a partition, a stalled server): watch it
  // apart from the renewal itself. The jobs are given up a renewal period before the
  // database would let another coordinator take them, so that a busy event loop (the watch
  // firing late) never has this one still leasing tasks of a job another one already runs.
  const watchdog = setInterval(
    () => {
      const deadline = now() - (ownership.leaseMs - ownership.renewMs)
      const expired: string[] = []
      for (const jobId of ownership.owned().keys())
        if (Math.max(renewedAt, takenAt.get(jobId) ?? renewedAt) < deadline) expired.push(jobId)
      if (expired.length === 0) return
      const dropped = ownership.forget(expired)
      for (const jobId of dropped) takenAt.delete(jobId)
      stats.leaseLapses++
      log.error('could not renew job leases for longer than the lease: dropping those jobs', {
        jobs: dropped.length,
        sinceRenewalMs: Math.round(now() - renewedAt),
        leaseMs: ownership.leaseMs,
      })
      lose(dropped)
    },
    Math.max(10, Math.floor(ownership.renewMs / 4)),
  )

  const renewLoop = async () => {
    // After a failure, retry soon (the lease is running out), then less often, but never
    // less often than renewMs: a renewal that succeeds in time keeps every job.
    let retryMs = 25
    while (!signal.aborted) {
      const started = now()
      // What the renewal covers: `renew` reads the same map in the same tick.
      const covered = ownership.owned()
      try {
        const lost = await ownership.renew(
          AbortSignal.any([signal, AbortSignal.timeout(ownership.leaseMs)]),
        )
        renewedAt = started
        // The jobs it renewed now lease from `started`; a job taken while it ran keeps the
        // time of its takeover until the next renewal covers it.
        const owned = ownership.owned()
        for (const [jobId, token] of covered) if (owned.get(jobId) === token) takenAt.delete(jobId)
        for (const jobId of takenAt.keys()) if (!owned.has(jobId)) takenAt.delete(jobId)
        stats.renewals++
        retryMs = 25
        if (lost.length > 0)
          log.warn('jobs taken over by another coordinator', { jobs: lost.length })
        lose(lost)
      } catch (err) {
        if (signal.aborted) break
        stats.renewErrors++
        log.warn('lease renewal failed, retrying', { err, errors: stats.renewErrors })
        retryMs = Math.min(retryMs * 2, ownership.renewMs)
        await pause(retryMs, false)
        continue
      }
      await pause(Math.max(0, ownership.renewMs - (now() - started)), false)
    }
  }

  const takeOverLoop = async () => {
    let backoff = pollMs
    while (!signal.aborted) {
      wakePending = false
      try {
        for (;;) {
          const started = now()
          const taken = await ownership.takeOver(
            batch,
            AbortSignal.any([signal, AbortSignal.timeout(ownership.leaseMs)]),
            options.lapsedForMs?.() ?? 0,
          )
          stats.takeOverBatches++
          stats.takeOverMs.push(now() - started)
          if (stats.takeOverMs.length > 1_000) stats.takeOverMs.shift()
          if (taken.length === 0) break
          stats.taken += taken.length
          for (const { jobId } of taken) takenAt.set(jobId, started)
          try {
            await options.onTaken(taken, signal)
          } catch (err) {
            log.error('loading jobs taken over failed: handing them back', {
              err,
              jobs: taken.length,
            })
            await ownership.release(
              taken.map((job) => job.jobId),
              signal,
            )
          }
          if (taken.length < batch || signal.aborted) break
        }
        backoff = pollMs
      } catch (err) {
        if (signal.aborted) break
        stats.takeOverErrors++
        log.warn('taking over lapsed jobs failed, retrying', { err, errors: stats.takeOverErrors })
        backoff = Math.min(backoff * 2, maxBackoff)
        await pause(backoff, false)
        continue
      }
      await pause(pollMs, true)
    }
  }

  const settle = (loop: Promise<void>, name: string) =>
    loop.catch((err: unknown) => log.error(`${name} stopped on an unexpected error`, { err }))
  const done = Promise.all([
    settle(renewLoop(), 'lease renewal'),
    settle(takeOverLoop(), 'takeover'),
  ]).then(() => clearInterval(watchdog))

  return {
    wake() {
      wakePending = true
      woken?.()
    },
    stats: () => ({ ...stats, takeOverMs: [...stats.takeOverMs] }),
    done,
  }
}
