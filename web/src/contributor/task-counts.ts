import type { ContributorEvent } from '@tabswarm/sdk/contributor'

/** What the page's counters show: tasks by outcome, and the compute the accepted ones did. */
export interface TaskCounts {
  accepted: number
  /** Passed the relay's checks and wait for agreeing replicas: neither paid nor rejected yet. */
  pending: number
  rejected: number
  /** FLOP of the accepted tasks (0 for a researcher's kernel, which cannot say). */
  flops: number
}

/**
 * The page's task counters, kept from the contributor loop's events. Apart from the DOM so
 * that the counting is tested in Node.
 *
 * A result acknowledged `pending` waits for the relay's verdict (`task-verdict`): "awaiting
 * agreement" falls when it comes, and the accepted or rejected count rises, so the counters
 * add up after a job ends instead of holding every result that was ever pending.
 */
export function createTaskCounts() {
  const counts: TaskCounts = { accepted: 0, pending: 0, rejected: 0, flops: 0 }
  /** FLOP of each task in flight, counted once it is accepted. */
  const inFlight = new Map<string, number>()
  /** FLOP of each task awaiting its verdict; a verdict for a task not here is ignored. */
  const awaiting = new Map<string, number>()

  return {
    /** A copy of the counters now. */
    get: (): TaskCounts => ({ ...counts }),

    /**
     * Applies one contributor event.
     * @returns whether the counters changed
     */
    apply(event: ContributorEvent): boolean {
      switch (event.type) {
        case 'task-started':
          inFlight.set(event.taskId, event.flops)
          return false
        case 'task-finished': {
          const flops = inFlight.get(event.taskId) ?? 0
          inFlight.delete(event.taskId)
          // `stale` lost its lease first (a cancelled job): not a judgement of this tab's work.
          if (event.outcome === 'accepted') {
            counts.accepted++
            counts.flops += flops
          } else if (event.outcome === 'pending') {
            // A second `pending` for the same task (a retried report) is not a second result.
            if (awaiting.has(event.taskId)) return false
            awaiting.set(event.taskId, flops)
            counts.pending++
          } else if (event.outcome === 'rejected') counts.rejected++
          else return false
          return true
        }
        case 'task-verdict': {
          const flops = awaiting.get(event.taskId)
          // A verdict for a result this page never saw pending (reported before a reload, or
          // twice): counting it would take "awaiting agreement" below what is awaited.
          if (flops === undefined) return false
          awaiting.delete(event.taskId)
          counts.pending--
          if (event.outcome === 'accepted') {
            counts.accepted++
            counts.flops += flops
          } else counts.rejected++
          return true
        }
        case 'task-released':
        case 'task-failed':
        case 'result-refused':
          inFlight.delete(event.taskId)
          return false
        default:
          return false
      }
    },
  }
}

export type TaskCounter = ReturnType<typeof createTaskCounts>
