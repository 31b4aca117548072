import type { Coordinator } from '../coordinator/coordinator.ts'
import type { ContributorHello, ResultOutcome } from '../coordinator/coordinator-api.ts'
import { type Logger, silentLogger } from '../log.ts'
import { encodeOfferedGrant } from './offered-grant.ts'
import type { OfferReturn, OfferVerdict, TaskOffers } from './task-offers.ts'
import { runWakeableLoop } from './wakeable-loop.ts'

export interface OfferPublisherOptions {
  offers: TaskOffers
  coordinator: Pick<
    Coordinator,
    'offering' | 'submitResult' | 'reportTaskError' | 'inputBytes' | 'durable'
  >
  /** This coordinator's id in the cluster (`job_owners`, `relays`). */
  ownerId: string
  /**
   * Makes an offered task's input readable by the other relays (the shared blob
   * directory): a matmul band is a part of a job held in this relay's memory only.
   */
  shareInput(sha256: string, bytes: Uint8Array): void
  signal: AbortSignal
  log?: Logger
  /** Rounds while offers are out. @default 25 */
  busyMs?: number
  /** Rounds while none are (a notification wakes it sooner). @default 500 */
  idleMs?: number
  /** An offer nobody claimed for this long goes back to this relay's queue. @default 1_000 */
  unclaimedMs?: number
  /** Most offers out and unclaimed at once. @default 512 */
  maxOpen?: number
  /** How long a relay's announced want counts. @default 2_000 */
  wantedForMs?: number
  /** A remote contributor not heard of for this long is forgotten here. @default 60_000 */
  remoteIdleMs?: number
}

export interface OfferPublisher {
  /** Look now: returns are waiting. */
  wake(): void
  /**
   * Relay `by` announced `count` contributors wanting work that no offer could give them
   * (the `wanted` event): this coordinator offers up to that many of its queued tasks, for
   * `wantedForMs`. Offers are made only for a want: none sit on the table while the other
   * relays' contributors are busy with their own work.
   */
  wanted(by: string, count: number): void
  stats(): {
    offered: number
    withdrawn: number
    claimed: number
    results: number
    errors: number
    released: number
    verdicts: number
  }
  readonly done: Promise<void>
}

/** An offer this coordinator has out: its task (for verdicts) and whether it was claimed. */
interface OutOffer {
  taskId: string
  offeredAt: number
  claimed: boolean
}

const RETURNS_PER_ROUND = 500
const VERDICTS_PER_PEER = 64
const PURGE_EVERY_MS = 30_000
const FORGET_EVERY_MS = 5_000
const SHARED_HASHES_KEPT = 100_000

/**
 * The owner's half of sharing a job's tasks across the relays of a cluster: it offers
 * queued tasks in `task_offers` for the other relays to claim (as many as they announced
 * contributors wanting work, withdrawn when nobody claims them), takes back what those relays'
 * contributors returned (results, task errors, releases, renewals), records them through
 * the coordinator as a connected contributor's (`TaskOffering.adopt`), and sends the
 * verdicts back, once durable.
 */
export function startOfferPublisher(options: OfferPublisherOptions): OfferPublisher {
  const { offers, coordinator, ownerId, signal } = options
  const { offering } = coordinator
  const log = options.log ?? silentLogger
  const busyMs = options.busyMs ?? 25
  const idleMs = options.idleMs ?? 500
  const unclaimedMs = options.unclaimedMs ?? 1_000
  const maxOpen = options.maxOpen ?? 512
  const wantedForMs = options.wantedForMs ?? 2_000
  /** What each relay wants, and since when. */
  const wants = new Map<string, { count: number; at: number }>()
  const remoteIdleMs = options.remoteIdleMs ?? 60_000
  const out = new Map<string, OutOffer>()
  /** The relay each remote contributor was last heard through: where its verdicts go. */
  const relayOf = new Map<string, string>()
  const shared = new Set<string>()
  /** Jobs offered already: each is logged once. */
  const offeredJobs = new Set<string>()
  const stats = {
    offered: 0,
    withdrawn: 0,
    claimed: 0,
    results: 0,
    errors: 0,
    released: 0,
    verdicts: 0,
  }
  let purgeAt = Date.now() + PURGE_EVERY_MS
  let forgetAt = 0

  /** Records one return; the verdict to send at once, if it has one. */
  function take(ret: OfferReturn): OfferVerdict | undefined {
    const offer = out.get(ret.offerId)
    if (ret.kind === 'renew') {
      offering.renew(ret.offerId)
      return undefined
    }
    out.delete(ret.offerId)
    if (ret.kind === 'release') {
      stats.released++
      offering.giveBack(ret.offerId)
      return undefined
    }
    relayOf.set(ret.peerId, ret.relayId)
    const refused = offering.adopt(ret.offerId, ret.peerId, ret.hello as ContributorHello)
    if (ret.kind === 'error') {
      stats.errors++
      if (refused == null)
        coordinator.reportTaskError(ret.peerId, ret.offerId, ret.code, ret.message)
      return undefined
    }
    stats.results++
    const outcome: ResultOutcome =
      refused ?? coordinator.submitResult(ret.peerId, ret.offerId, ret.outputs)
    // `pending` is decided later: its verdict comes with `takeRemoteVerdicts`.
    if (outcome.outcome === 'pending' || offer == null) return undefined
    return {
      relayId: ret.relayId,
      peerId: ret.peerId,
      taskId: offer.taskId,
      outcome: outcome.outcome === 'accepted' ? 'accepted' : 'rejected',
    }
  }

  function share(inputs: ReadonlyArray<{ sha256: string }>): void {
    for (const { sha256 } of inputs) {
      if (shared.has(sha256)) continue
      const bytes = coordinator.inputBytes(sha256)
      if (bytes == null) continue
      options.shareInput(sha256, bytes)
      if (shared.size >= SHARED_HASHES_KEPT) shared.clear()
      shared.add(sha256)
    }
  }

  async function round(signal: AbortSignal): Promise<number> {
    const now = Date.now()
    // What came back: recorded, then told once durable.
    const verdicts: OfferVerdict[] = []
    const returns = await offers.takeReturns(ownerId, RETURNS_PER_ROUND, { signal })
    for (const ret of returns) {
      try {
        const verdict = take(ret)
        if (verdict != null) verdicts.push(verdict)
      } catch (err) {
        log.warn('a returned offer could not be recorded', {
          offer: ret.offerId,
          kind: ret.kind,
          error: (err as Error).message,
        })
      }
    }
    for (const { peerId, verdicts: decided } of offering.takeRemoteVerdicts(VERDICTS_PER_PEER)) {
      const relayId = relayOf.get(peerId)
      if (relayId != null)
        for (const v of decided)
          verdicts.push({ relayId, peerId, taskId: v.taskId, outcome: v.outcome })
    }
    if (verdicts.length > 0) {
      await coordinator.durable()
      await offers.sendVerdicts(verdicts, { signal })
      stats.verdicts += verdicts.length
    }

    // Offers nobody claimed in time come back here; the rest are being run elsewhere.
    // Offers whose lease ended here (their job ended or moved, the lease expired) are
    // taken off the table, unclaimed or not: nobody should run them any more.
    const stale: string[] = []
    const gone: string[] = []
    let open = 0
    for (const [offerId, offer] of out) {
      if (!offer.claimed && !offering.holds(offerId)) {
        out.delete(offerId)
        gone.push(offerId)
      } else if (!offer.claimed && now - offer.offeredAt >= unclaimedMs) stale.push(offerId)
      else if (!offer.claimed) open++
    }
    if (gone.length > 0) await offers.withdraw(gone, { signal })
    if (stale.length > 0) {
      const withdrawn = new Set(await offers.withdraw(stale, { signal }))
      for (const offerId of stale) {
        const offer = out.get(offerId)
        if (offer == null) continue
        if (withdrawn.has(offerId)) {
          out.delete(offerId)
          offering.giveBack(offerId)
          stats.withdrawn++
        } else {
          offer.claimed = true
          stats.claimed++
        }
      }
    }

    let wanted = 0
    for (const [by, want] of wants)
      if (now - want.at > wantedForMs) wants.delete(by)
      else wanted += want.count
    const room = Math.min(maxOpen, wanted) - open
    if (room > 0) {
      const tasks = offering.offer(Math.min(room, 1_000))
      if (tasks.length > 0) {
        try {
          for (const task of tasks) share(task.grant.inputs)
          await offers.publish(
            tasks.map((task) => ({
              offerId: task.grant.leaseId,
              jobId: task.grant.jobId,
              ownerId,
              kind: task.need.kernel,
              grant: encodeOfferedGrant(task),
              expiresInMs: task.grant.expiresInMs,
            })),
            { signal },
          )
        } catch (err) {
          for (const task of tasks) offering.giveBack(task.grant.leaseId)
          throw err
        }
        for (const task of tasks) {
          out.set(task.grant.leaseId, { taskId: task.grant.taskId, offeredAt: now, claimed: false })
          if (!offeredJobs.has(task.grant.jobId)) {
            if (offeredJobs.size >= 10_000) offeredJobs.clear()
            offeredJobs.add(task.grant.jobId)
            log.info('offering tasks to other relays', { job: task.grant.jobId, wanted })
          }
        }
        stats.offered += tasks.length
      }
    }

    if (now >= forgetAt) {
      forgetAt = now + FORGET_EVERY_MS
      offering.forgetIdle(remoteIdleMs)
      for (const peerId of relayOf.keys()) if (!offering.isRemote(peerId)) relayOf.delete(peerId)
      // Claimed offers whose return never came (their relay died): the lease expired here.
      for (const [offerId, offer] of out)
        if (offer.claimed && !offering.holds(offerId) && now - offer.offeredAt > remoteIdleMs)
          out.delete(offerId)
    }
    if (now >= purgeAt) {
      purgeAt = now + PURGE_EVERY_MS
      await offers.purge({ signal })
    }
    return out.size > 0 || returns.length > 0 || wants.size > 0 ? busyMs : idleMs
  }

  const loop = runWakeableLoop({ signal, round, log, name: 'offer publisher' })
  return {
    wake: loop.wake,
    wanted(by, count) {
      if (by === ownerId || !offering.shareable()) return
      wants.set(by, { count, at: Date.now() })
      loop.wake()
    },
    stats: () => ({ ...stats }),
    done: loop.done,
  }
}
