import type { Verdict } from '@tabswarm/protocol'
import type { Replica } from '../jobs/job-runtime.ts'

/** Verdicts kept for one contributor until its next answer; the oldest go first past it. */
export const MAX_QUEUED_VERDICTS = 1024

/**
 * What a contributor told `pending` is told later, once, for its result:
 * - `accepted`: its replicas agreed with it (it is paid).
 * - `rejected`: it earns nothing: outvoted by a credible majority (a fault), its round of
 *   replicas ended without agreement (`maxReplicas`; no fault), the task was accepted from
 *   another, checked result before anyone agreed with it, its job ended first (completed,
 *   failed, cancelled), or its contributor was banned.
 *
 * Backtracking sends nothing more. It undoes acceptances made on one contributor's
 * credibility alone (`provisional-results.ts`), which were told `accepted` (or had their
 * `accepted` verdict) already, and only because that contributor was caught: its pending
 * credit is forfeited, which its earnings show, and it is faulted or banned. A second,
 * contradicting verdict for one task would make a page count it twice. A trusted answer
 * taken back for a second opinion (`Replica.reopened`) was told `accepted`, so it is owed no
 * verdict either, whatever the second opinion says.
 *
 * The verdicts of results a contributor was told were `pending`, kept until the relay next
 * answers it (`verdicts` on `lease`, `no-work` or `result-ack`), so the contributor's
 * "awaiting agreement" count falls as well as rises. In memory and per online peer: a
 * peer's queue is forgotten when it leaves, as its pending results' replicas are after a
 * restart. Bounded: past `MAX_QUEUED_VERDICTS` for one peer (a contributor that stopped
 * asking while its results were decided) the oldest are dropped and counted.
 */
export interface VerdictQueue {
  /** `peerId`'s pending result for `taskId` was decided; ignored for a peer not online. */
  decide(peerId: string, taskId: string, outcome: Verdict['outcome']): void
  /** Up to `max` of `peerId`'s verdicts, oldest first, removed from the queue. */
  take(peerId: string, max: number): Verdict[]
  /** The peer left: its verdicts would reach nobody. */
  forget(peerId: string): void
  /** Verdicts dropped because a peer's queue was full, since this coordinator started. */
  readonly dropped: number
}

export function createVerdictQueue(options: {
  /** Whether the peer is connected now: verdicts for others would never be taken. */
  online(peerId: string): boolean
  /** @default MAX_QUEUED_VERDICTS */
  maxPerPeer?: number
}): VerdictQueue {
  const maxPerPeer = options.maxPerPeer ?? MAX_QUEUED_VERDICTS
  const queues = new Map<string, Verdict[]>()
  let dropped = 0
  return {
    decide(peerId, taskId, outcome) {
      if (!options.online(peerId)) return
      let queue = queues.get(peerId)
      if (queue == null) {
        queue = []
        queues.set(peerId, queue)
      }
      if (queue.length >= maxPerPeer) {
        queue.shift()
        dropped++
      }
      queue.push({ taskId, outcome })
    },

    take(peerId, max) {
      const queue = queues.get(peerId)
      if (queue == null) return []
      const taken = queue.splice(0, Math.max(0, max))
      if (queue.length === 0) queues.delete(peerId)
      return taken
    },

    forget: (peerId) => void queues.delete(peerId),

    get dropped() {
      return dropped
    },
  }
}

/**
 * Tells the contributors of a task's replicas, each told `pending` when its result came
 * in, what became of it: `outcome` decides per replica (undefined: no verdict, e.g. the
 * submitter being answered right now). A reopened trusted answer (`Replica.reopened`) was
 * told `accepted`, never `pending`, so it gets none.
 */
export function decideReplicas(
  verdicts: Pick<VerdictQueue, 'decide'>,
  taskId: string,
  replicas: readonly Replica[],
  outcome: (replica: Replica) => Verdict['outcome'] | undefined,
): void {
  for (const replica of replicas) {
    if (replica.reopened) continue
    const decided = outcome(replica)
    if (decided != null) verdicts.decide(replica.peerId, taskId, decided)
  }
}
