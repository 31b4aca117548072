import { type Capabilities, tensorByteLength, type Verdict } from '@tabswarm/protocol'
import type {
  ContributorHello,
  LeaseGrant,
  ResultOutcome,
  ResultTensor,
  WorkGateway,
} from '../coordinator/coordinator-api.ts'
import { mismatch, type TaskRequirement } from '../coordinator/leases/capability-match.ts'
import { type Logger, silentLogger } from '../log.ts'
import { type DecodedOffer, decodeOfferedGrant, type OfferKind } from './offered-grant.ts'
import type { OfferReturn, TaskOffers } from './task-offers.ts'
import { runWakeableLoop } from './wakeable-loop.ts'

/** After an offered task whose inputs are not readable here, claiming stops this long. */
const UNREADABLE_PAUSE_MS = 30_000

export interface OfferedWorkOptions {
  /** This relay's own coordinator: its work comes first. */
  local: WorkGateway
  offers: TaskOffers
  /** This relay's id in the cluster: what it claims offers as, and where verdicts come. */
  relayId: string
  /**
   * Whether this relay can serve an input to its contributors (the shared blob directory
   * has it). An offer with an input it cannot is given back at once, and claiming pauses:
   * the relays do not share their blob directory.
   */
  readable(sha256: string): boolean
  /**
   * Tells the owners of the cluster that `count` contributors here want work no offer gave
   * them (the `wanted` event): they offer that many. Called at most every `wantEveryMs`.
   */
  announceWant(count: number, signal: AbortSignal): Promise<void>
  /** @default 250 */
  wantEveryMs?: number
  signal: AbortSignal
  log?: Logger
  /** @default Date.now */
  now?: () => number
  /** Rounds while offered work is about. @default 25 */
  busyMs?: number
  /** Rounds while none is (a notification wakes it sooner). @default 500 */
  idleMs?: number
  /** Offers kept claimed per contributor here that wants work. @default 2 */
  perContributor?: number
  /** A claimed offer no contributor here took for this long goes back to its owner. @default 2_000 */
  holdMs?: number
  /** A contributor counts as wanting work for this long after it found none. @default 5_000 */
  wantingMs?: number
  /** Offers with less time left than this are not handed out. @default 2_000 */
  minLeftMs?: number
  /** Offered leases one contributor may hold at once. @default 2 */
  maxPerPeer?: number
}

export interface OfferedWork extends WorkGateway {
  /** Look now: offers were published, or verdicts wait. */
  wake(): void
  stats(): {
    claimed: number
    leased: number
    returned: number
    gaveBack: number
    verdicts: number
    /** p99 of the last 1,024 claim statements' round trips, ms (0 before the first). */
    claimP99Ms: number
  }
  /**
   * The job changed owner: offers of it claimed here, waiting or running, are void (their
   * rows are gone, and the new owner queued their tasks again). A contributor running one
   * hears `stale` when it hands the result in.
   */
  dropJob(jobId: string): void
  /**
   * After `signal` aborted: waits for the loop, then gives every offer claimed or leased
   * here back to its owner (the relay is stopping; its contributors go with it), within
   * `timeoutMs` (default 2 s).
   */
  close(timeoutMs?: number): Promise<void>
}

/** An offer claimed here, waiting for a contributor. */
interface Claimed extends DecodedOffer {
  ownerId: string
  claimedAt: number
  /** When the owner's lease ends, on this relay's clock. */
  expiresAt: number
  /** What a renewal adds: the owner's lease length as it was at claim. */
  leaseMs: number
}

/** An offer a contributor here is running. */
interface Running extends Claimed {
  peerId: string
}

const KINDS: readonly OfferKind[] = ['matmul', 'custom']
const CLAIM_MAX = 500
const RETURNS_PER_CALL = 1_000
const VERDICTS_PER_ROUND = 1_000
const RAN_BY_KEPT = 50_000
const CLAIM_TIMINGS_KEPT = 1_024
const MAX_OUTGOING = 10_000

/**
 * The claiming half of sharing tasks across a cluster's relays, as the work service sees
 * it: a `WorkGateway` that serves this relay's own coordinator first and, when it has
 * nothing for a contributor, a task another relay offered (`task_offers`, claimed in
 * batches with `SKIP LOCKED` for the contributors here that want work). What the
 * contributor returns goes back to the job's owner, which verifies, records and pays it
 * as its own contributor's; the contributor is told `pending`, and hears the verdict on a
 * later answer, as with a result waiting for its replicas.
 *
 * Distinctness holds as at the owner: no contributor here gets a task it already got, and
 * the owner refuses a result from a contributor that holds or answered another replica.
 */
export function createOfferedWork(options: OfferedWorkOptions): OfferedWork {
  const { local, offers, relayId, signal } = options
  const log = options.log ?? silentLogger
  const now = options.now ?? Date.now
  const busyMs = options.busyMs ?? 25
  const idleMs = options.idleMs ?? 500
  const perContributor = options.perContributor ?? 2
  const holdMs = options.holdMs ?? 2_000
  const wantingMs = options.wantingMs ?? 5_000
  const minLeftMs = options.minLeftMs ?? 2_000
  const maxPerPeer = options.maxPerPeer ?? 2

  const hellos = new Map<string, ContributorHello>()
  const waiting: Claimed[] = []
  const running = new Map<string, Running>()
  const heldBy = new Map<string, number>()
  /** Who got which task here: never the same one twice (a replica, or a task it returned). */
  const ranBy = new Map<string, Set<string>>()
  const wanting = new Map<string, number>()
  const verdicts = new Map<string, Verdict[]>()
  const outgoing: OfferReturn[] = []
  const readyListeners = new Set<() => void>()
  const stats = { claimed: 0, leased: 0, returned: 0, gaveBack: 0, verdicts: 0 }
  let claimPausedUntil = 0
  let announcedAt = 0
  const wantEveryMs = options.wantEveryMs ?? 250
  const claimMs: number[] = []
  /** Jobs whose offers were claimed here already: each is logged once. */
  const seenJobs = new Set<string>()

  const fits = (capabilities: Capabilities | undefined, need: TaskRequirement) =>
    capabilities != null && mismatch(capabilities, need) == null

  function hold(peerId: string, delta: number): void {
    const n = (heldBy.get(peerId) ?? 0) + delta
    if (n <= 0) heldBy.delete(peerId)
    else heldBy.set(peerId, n)
  }

  function end(leaseId: string): Running | undefined {
    const lease = running.get(leaseId)
    if (lease == null) return undefined
    running.delete(leaseId)
    hold(lease.peerId, -1)
    return lease
  }

  const base = (lease: Claimed, peerId: string) => ({
    ownerId: lease.ownerId,
    offerId: lease.grant.leaseId,
    relayId,
    peerId,
  })

  /**
   * Queues a return for the next round. While the database is out of reach they pile up:
   * past `MAX_OUTGOING` the oldest go (their owner's leases lapse and the tasks run again).
   */
  function send(ret: OfferReturn): void {
    if (outgoing.length >= MAX_OUTGOING) {
      const dropped = outgoing.splice(0, outgoing.length - MAX_OUTGOING + 1)
      log.warn('returns to other relays piled up unsent: the oldest are dropped', {
        dropped: dropped.length,
      })
    }
    outgoing.push(ret)
  }

  function giveBack(lease: Claimed, peerId: string): void {
    send({ ...base(lease, peerId), kind: 'release' })
    stats.gaveBack++
  }

  /** The live offered lease `leaseId` of `peerId`, if it holds one. */
  function held(peerId: string, leaseId: string): Running | undefined {
    const lease = running.get(leaseId)
    return lease != null && lease.peerId === peerId && lease.expiresAt > now() ? lease : undefined
  }

  function remoteGrant(peerId: string): LeaseGrant | undefined {
    const hello = hellos.get(peerId)
    if (hello == null || (heldBy.get(peerId) ?? 0) >= maxPerPeer) return undefined
    const at = now()
    for (let i = 0; i < waiting.length; i++) {
      const offer = waiting[i]!
      if (offer.expiresAt - at < minLeftMs) continue
      const got = ranBy.get(offer.grant.taskId)
      if (got?.has(peerId) || !fits(hello.capabilities, offer.need)) continue
      waiting.splice(i, 1)
      running.set(offer.grant.leaseId, { ...offer, peerId })
      hold(peerId, 1)
      if (ranBy.size >= RAN_BY_KEPT) ranBy.clear()
      ranBy.set(offer.grant.taskId, (got ?? new Set()).add(peerId))
      stats.leased++
      return { ...offer.grant, expiresAt: offer.expiresAt, expiresInMs: offer.expiresAt - at }
    }
    return undefined
  }

  function checkOutputs(lease: Running, outputs: readonly ResultTensor[]): string | undefined {
    const declared = lease.grant.outputs
    if (outputs.length !== declared.length)
      return `the task declares ${declared.length} outputs, the result has ${outputs.length}`
    for (let i = 0; i < declared.length; i++) {
      const want = tensorByteLength(declared[i]!.shape, declared[i]!.dtype)
      if (outputs[i]!.bytes.byteLength !== want)
        return `output ${declared[i]!.name} must be ${want} bytes, got ${outputs[i]!.bytes.byteLength}`
    }
    return undefined
  }

  async function round(signal: AbortSignal): Promise<number> {
    const at = now()
    // Claimed offers nobody here took, or about to run out, go back to their owners.
    for (let i = waiting.length - 1; i >= 0; i--) {
      const offer = waiting[i]!
      if (at - offer.claimedAt >= holdMs || offer.expiresAt - at < minLeftMs) {
        waiting.splice(i, 1)
        giveBack(offer, relayId)
      }
    }
    for (const [leaseId, lease] of running) if (lease.expiresAt <= at) end(leaseId)
    for (const [peerId, since] of wanting) if (at - since > wantingMs) wanting.delete(peerId)

    while (outgoing.length > 0) {
      const batch = outgoing.slice(0, RETURNS_PER_CALL)
      await offers.sendReturns(batch, { signal })
      outgoing.splice(0, batch.length)
      stats.returned += batch.length
    }

    const decided = await offers.takeVerdicts(relayId, VERDICTS_PER_ROUND, { signal })
    for (const v of decided) {
      if (!hellos.has(v.peerId)) continue
      const queue = verdicts.get(v.peerId) ?? []
      queue.push({ taskId: v.taskId, outcome: v.outcome })
      verdicts.set(v.peerId, queue)
      stats.verdicts++
    }

    // Claim for the contributors here that want work, as many as they can take.
    const kinds = new Set<OfferKind>()
    const busy = new Set([...wanting.keys(), ...heldBy.keys()])
    for (const peerId of busy)
      for (const kernel of hellos.get(peerId)?.capabilities.kernels ?? [])
        if ((KINDS as readonly string[]).includes(kernel)) kinds.add(kernel as OfferKind)
    const want = Math.min(CLAIM_MAX, busy.size * perContributor - waiting.length)
    if (want > 0 && kinds.size > 0 && at >= claimPausedUntil) {
      const t0 = performance.now()
      const claimed = await offers.claim(relayId, [...kinds], want, { signal, minLeftMs })
      if (claimMs.length >= CLAIM_TIMINGS_KEPT) claimMs.shift()
      claimMs.push(performance.now() - t0)
      const claimedAt = now()
      for (const offer of claimed) {
        const back = () => {
          send({
            ownerId: offer.ownerId,
            offerId: offer.offerId,
            relayId,
            peerId: relayId,
            kind: 'release',
          })
          stats.gaveBack++
        }
        let decoded: DecodedOffer
        try {
          decoded = decodeOfferedGrant(offer.grant)
        } catch (err) {
          log.warn('an offered task is malformed: given back', {
            offer: offer.offerId,
            error: (err as Error).message,
          })
          back()
          continue
        }
        const missing = decoded.grant.inputs.find((ref) => !options.readable(ref.sha256))
        if (missing != null) {
          if (claimPausedUntil <= at)
            log.warn(
              "an offered task's input is not in this relay's blob directory: not claiming offers for 30 s. Relays of a cluster must share one --blob-dir (TABSWARM_BLOB_DIR)",
              { offer: offer.offerId, input: missing.sha256 },
            )
          claimPausedUntil = at + UNREADABLE_PAUSE_MS
          back()
          continue
        }
        if (!seenJobs.has(offer.jobId)) {
          if (seenJobs.size >= 10_000) seenJobs.clear()
          seenJobs.add(offer.jobId)
          log.info('running tasks another relay offered', {
            job: offer.jobId,
            owner: offer.ownerId,
          })
        }
        waiting.push({
          ...decoded,
          ownerId: offer.ownerId,
          claimedAt,
          expiresAt: claimedAt + offer.expiresInMs,
          leaseMs: offer.expiresInMs,
        })
      }
      stats.claimed += claimed.length
      if (claimed.length > 0) for (const listener of readyListeners) listener()
      // Short: the owners offer on demand, so say how many more would be taken.
      const short = want - claimed.length
      if (short > 0 && at - announcedAt >= wantEveryMs) {
        announcedAt = at
        await options.announceWant(short, signal)
      }
    }
    const active = waiting.length + running.size + outgoing.length + wanting.size
    return active > 0 ? busyMs : idleMs
  }

  const loop = runWakeableLoop({ signal, round, log, name: 'offered work' })

  return {
    wake: loop.wake,
    stats() {
      const sorted = [...claimMs].sort((x, y) => x - y)
      const claimP99Ms = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0
      return { ...stats, claimP99Ms }
    },

    dropJob(jobId) {
      for (let i = waiting.length - 1; i >= 0; i--)
        if (waiting[i]!.grant.jobId === jobId) waiting.splice(i, 1)
      for (const [leaseId, lease] of running) if (lease.grant.jobId === jobId) end(leaseId)
    },

    async close(timeoutMs = 2_000) {
      await loop.done
      for (const offer of waiting.splice(0)) giveBack(offer, relayId)
      for (const [leaseId, lease] of running) {
        end(leaseId)
        giveBack(lease, lease.peerId)
      }
      if (outgoing.length === 0) return
      await offers
        .sendReturns(outgoing.splice(0, RETURNS_PER_CALL), {
          signal: AbortSignal.timeout(timeoutMs),
        })
        .catch((err: Error) =>
          log.warn('giving offers back at stop failed; they lapse instead', { error: err.message }),
        )
    },

    registerContributor(peerId, hello) {
      local.registerContributor(peerId, hello)
      hellos.set(peerId, 'capabilities' in hello ? hello : { capabilities: hello })
    },

    contributorLeft(peerId) {
      local.contributorLeft(peerId)
      for (const [leaseId, lease] of running)
        if (lease.peerId === peerId) {
          end(leaseId)
          giveBack(lease, peerId)
        }
      hellos.delete(peerId)
      verdicts.delete(peerId)
      wanting.delete(peerId)
    },

    takeVerdicts(peerId, max) {
      const mine = local.takeVerdicts(peerId, max)
      const theirs = verdicts.get(peerId)
      if (theirs == null || mine.length >= max) return mine
      const taken = theirs.splice(0, max - mine.length)
      if (theirs.length === 0) verdicts.delete(peerId)
      return [...mine, ...taken]
    },

    lease(peerId, holds) {
      const grant = local.lease(peerId, holds)
      if (grant != null || local.refusal(peerId) != null) return grant
      const offered = remoteGrant(peerId)
      if (offered != null) {
        wanting.delete(peerId)
        return offered
      }
      if (!wanting.has(peerId)) {
        wanting.set(peerId, now())
        loop.wake()
      }
      return undefined
    },

    refusal: (peerId) => local.refusal(peerId),

    renewLease(peerId, leaseId) {
      const lease = held(peerId, leaseId)
      if (lease == null) return local.renewLease(peerId, leaseId)
      lease.expiresAt = now() + lease.leaseMs
      send({ ...base(lease, peerId), kind: 'renew' })
      return { expiresAt: lease.expiresAt, expiresInMs: lease.leaseMs }
    },

    resultBytes(peerId, leaseId) {
      const lease = held(peerId, leaseId)
      if (lease == null) return local.resultBytes(peerId, leaseId)
      let bytes = 0
      for (const out of lease.grant.outputs) bytes += tensorByteLength(out.shape, out.dtype)
      return bytes
    },

    failLease(peerId, leaseId, reason) {
      const lease = held(peerId, leaseId)
      if (lease == null) return local.failLease(peerId, leaseId, reason)
      // Its owner could encode it; this relay could not: another relay may serve it.
      end(leaseId)
      giveBack(lease, peerId)
      log.warn('an offered lease could not be sent here: given back', { lease: leaseId, reason })
    },

    releaseLease(peerId, leaseId) {
      const lease = held(peerId, leaseId)
      if (lease == null) return local.releaseLease(peerId, leaseId)
      end(leaseId)
      giveBack(lease, peerId)
    },

    submitResult(peerId, leaseId, outputs, proof): ResultOutcome {
      if (!running.has(leaseId)) return local.submitResult(peerId, leaseId, outputs, proof)
      const lease = held(peerId, leaseId)
      if (lease == null)
        return { outcome: 'stale', reason: 'lease unknown, expired or held by another peer' }
      end(leaseId)
      const wrong = checkOutputs(lease, outputs)
      if (wrong != null) {
        giveBack(lease, peerId)
        return { outcome: 'rejected', reason: wrong }
      }
      send({
        ...base(lease, peerId),
        kind: 'result',
        hello: hellos.get(peerId),
        outputs: outputs.map((o) => ({ shape: [...o.shape], dtype: o.dtype, bytes: o.bytes })),
      })
      loop.wake()
      return { outcome: 'pending', reason: 'verified by the relay that runs its job' }
    },

    retryAfterMs: (peerId) => local.retryAfterMs(peerId),

    onTaskReady(listener) {
      const off = local.onTaskReady(listener)
      readyListeners.add(listener)
      return () => {
        off()
        readyListeners.delete(listener)
      }
    },

    holdEndsInMs: () => local.holdEndsInMs(),

    inputBytes: (sha256) => local.inputBytes(sha256),

    reportTaskError(peerId, leaseId, code, message) {
      if (!running.has(leaseId)) return local.reportTaskError(peerId, leaseId, code, message)
      const lease = held(peerId, leaseId)
      if (lease == null) return { outcome: 'stale' }
      end(leaseId)
      send({
        ...base(lease, peerId),
        kind: 'error',
        hello: hellos.get(peerId),
        code: String(code).slice(0, 64),
        message: String(message).slice(0, 1_000),
      })
      loop.wake()
      return { outcome: 'rejected', reason: 'task error recorded' }
    },

    reclaimExpiredLeases() {
      const at = now()
      let n = 0
      for (const [leaseId, lease] of running)
        if (lease.expiresAt <= at) {
          end(leaseId)
          n++
        }
      return local.reclaimExpiredLeases() + n
    },

    durable: () => local.durable(),
  }
}
