import type { Verdict } from '@tabswarm/protocol'
import type { Logger } from '../../log.ts'
import type { Clock } from '../clock.ts'
import type { Contributor, ContributorRegistry } from '../contributors/contributor-registry.ts'
import type { ContributorHello, LeaseGrant, ResultOutcome } from '../coordinator-api.ts'
import { CoordinatorError } from '../coordinator-error.ts'
import type { JobRuntime, TaskRuntime } from '../jobs/job-runtime.ts'
import type { TaskRequirement } from './capability-match.ts'
import type { LeaseTable } from './lease-table.ts'
import type { Scheduler } from './scheduler.ts'

/**
 * Who holds a task offered to the cluster's other relays until one of their contributors
 * runs it. Not a peer id libp2p could produce (those are base58 or base32, without `:`),
 * so no contributor can pose as it.
 */
export const OFFER_HOLDER = 'cluster:offers'

/** A queued task leased out to the cluster, as `offer` hands it to the publisher. */
export interface OfferedTask {
  /** The lease the owner holds for the cluster: its id is the offer's. */
  grant: LeaseGrant
  /** What a device must offer to run it: the relay that runs it matches its contributors. */
  need: TaskRequirement
}

/** A remote contributor's verdicts, for the relay it is connected to. */
export interface RemoteVerdicts {
  peerId: string
  verdicts: Verdict[]
}

/**
 * The owner's side of sharing a job's tasks across the relays of a cluster
 * (`cluster/offer-publisher.ts` drives it): queued tasks are leased to a stand-in holder
 * and offered in the shared database; when another relay's contributor runs one, its
 * result comes back here and the lease moves to that contributor, so verification,
 * credibility, bans and payment work exactly as for a contributor connected here. The
 * owner stays the only writer of its job's state.
 */
export interface TaskOffering {
  /**
   * Leases up to `max` queued tasks of matmul and custom jobs to the cluster (never
   * inference: its steps hold KV caches here). The cluster gets the surplus only: what
   * this relay's own contributors would not run within `keep.seconds` at the rate they ran
   * tasks over the last two seconds (default 2 s), and never the `keep.perContributor`
   * tasks (default 2) each of them is about to ask for. A task run elsewhere costs several
   * database round trips that one run here does not: it pays only for a queue this relay
   * cannot drain soon.
   */
  offer(max: number, keep?: { perContributor?: number; seconds?: number }): OfferedTask[]
  /** Whether a running job here could offer tasks at all (matmul or custom, with tasks queued). */
  shareable(): boolean
  /** Whether the offer `leaseId` is still held for the cluster (not given back, expired, or run). */
  holds(leaseId: string): boolean
  /** Gives an offer nobody ran back to the front of its job's queue. */
  giveBack(leaseId: string): void
  /** A remote contributor is still running the offer: its lease is extended. */
  renew(leaseId: string): boolean
  /**
   * A contributor of another relay ran the offer `leaseId`: it is registered here as a
   * remote contributor (refreshed when known) and, when it may run that task (not banned,
   * no replica of it held or answered under its peer id, wallet or address), the lease
   * becomes its own, for `submitResult` or `reportTaskError` to take as usual. Returns
   * undefined then; else the outcome to tell it (`stale` for an offer no longer held,
   * `rejected` for a contributor that may not run it, whose task goes back to the queue).
   */
  adopt(leaseId: string, peerId: string, hello: ContributorHello): ResultOutcome | undefined
  /** Decided verdicts of remote contributors' pending results, up to `max` each. */
  takeRemoteVerdicts(max: number): RemoteVerdicts[]
  /** Forgets remote contributors not heard of for `idleMs` (their verdicts with them). */
  forgetIdle(idleMs: number): number
  /** Whether `peerId` is a contributor of another relay, known here through its results. */
  isRemote(peerId: string): boolean
  /** `peerId` connected to this relay itself: it is no longer counted as remote. */
  connectedHere(peerId: string): void
  /** Remote contributors known here. */
  readonly remoteCount: number
}

export interface TaskOfferingOptions {
  clock: Clock
  log: Logger
  jobs: ReadonlyMap<string, JobRuntime>
  leases: LeaseTable
  scheduler: Pick<Scheduler, 'pickQueued' | 'mayRun'>
  contributors: ContributorRegistry
  /** Issues the lease and its grant, as for a contributor here. */
  grant(job: JobRuntime, task: TaskRuntime, c: Contributor): LeaseGrant
  /** Ends a lease, putting its task back (`front` of the queue, or at the back). */
  dropLease(leaseId: string, putBack: 'front' | 'back'): void
  /** Takes up to `max` of a peer's decided verdicts. */
  takeVerdicts(peerId: string, max: number): Verdict[]
  /** A remote contributor forgotten: as if it left (its verdicts and records go). */
  forget(peerId: string): void
  /** Leases granted so far, offers included (the coordinator's counter). */
  dispatched(): number
}

/** Over how long the rate of this relay's own leases is measured. */
const RATE_WINDOW_MS = 2_000

export function createTaskOffering(options: TaskOfferingOptions): TaskOffering {
  const { clock, jobs, leases, scheduler, contributors } = options
  // The stand-in is no device and no payee: it only keeps the replica rules (one lease of a
  // task at a time for the cluster) and is never registered, so nothing counts it online.
  const holder: Contributor = {
    peerId: OFFER_HOLDER,
    payee: OFFER_HOLDER,
    gflops: 0,
    record: {
      id: OFFER_HOLDER,
      payee: OFFER_HOLDER,
      verified: 0,
      faults: 0,
      banned: false,
      lastSeen: 0,
    },
  }
  /** Remote contributors by peer id, with when they were last heard of. */
  const remote = new Map<string, number>()
  let offered = 0
  /** (time, leases granted here so far, offers excluded), oldest first, over `RATE_WINDOW_MS`. */
  const samples: Array<[number, number]> = []
  /** Leases per second granted to contributors here lately. */
  function localRate(now: number): number {
    const local = options.dispatched() - offered
    samples.push([now, local])
    while (samples.length > 2 && samples[1]![0] <= now - RATE_WINDOW_MS) samples.shift()
    const [at, before] = samples[0]!
    return now > at ? ((local - before) * 1_000) / (now - at) : 0
  }
  const shareable = (job: JobRuntime) =>
    job.row.status === 'running' && job.inputs.kind !== 'inference'

  return {
    offer(max, keep = {}) {
      const out: OfferedTask[] = []
      const now = clock.now()
      let queued = 0
      for (const job of jobs.values()) if (shareable(job)) queued += job.ready.length - job.head
      const kept = Math.max(
        (contributors.size - remote.size) * (keep.perContributor ?? 2),
        Math.ceil(localRate(now) * (keep.seconds ?? 2)),
      )
      const limit = Math.min(max, queued - kept)
      while (out.length < limit) {
        const pick = scheduler.pickQueued(holder, jobs.values(), now, shareable)
        if (pick == null) break
        const grant = options.grant(pick.job, pick.task, holder)
        offered++
        // Providers are this relay's contributors: another relay's may not reach them.
        out.push({
          grant: { ...grant, inputs: grant.inputs.map(({ providers: _, ...ref }) => ref) },
          need: pick.job.need,
        })
      }
      return out
    },

    shareable() {
      for (const job of jobs.values())
        if (shareable(job) && job.head < job.ready.length) return true
      return false
    },

    holds: (leaseId) => leases.held(OFFER_HOLDER, leaseId) != null,

    giveBack(leaseId) {
      if (leases.held(OFFER_HOLDER, leaseId) != null) options.dropLease(leaseId, 'front')
    },

    renew: (leaseId) => leases.renew(OFFER_HOLDER, leaseId) != null,

    adopt(leaseId, peerId, hello) {
      const lease = leases.held(OFFER_HOLDER, leaseId)
      if (lease == null)
        return { outcome: 'stale', reason: 'offer unknown, expired or taken back by its relay' }
      let c = contributors.get(peerId)
      if (c == null) {
        try {
          c = contributors.register(peerId, hello)
        } catch (err) {
          options.dropLease(leaseId, 'front')
          if (err instanceof CoordinatorError && err.code === 'CONTRIBUTOR_BANNED')
            return { outcome: 'rejected', reason: err.message }
          throw err
        }
        remote.set(peerId, clock.now())
      } else if (remote.has(peerId)) remote.set(peerId, clock.now())
      const task = jobs.get(lease.jobId)?.tasks[lease.taskIndex]
      if (c.record.banned || task == null || !scheduler.mayRun(c, task)) {
        options.dropLease(leaseId, 'front')
        return {
          outcome: 'rejected',
          reason: c.record.banned
            ? `contributor ${peerId} is banned`
            : 'this contributor already holds or answered a replica of the task',
        }
      }
      leases.transfer(leaseId, OFFER_HOLDER, peerId)
      return undefined
    },

    takeRemoteVerdicts(max) {
      const out: RemoteVerdicts[] = []
      for (const peerId of remote.keys()) {
        const verdicts = options.takeVerdicts(peerId, max)
        if (verdicts.length > 0) out.push({ peerId, verdicts })
      }
      return out
    },

    forgetIdle(idleMs) {
      const before = clock.now() - idleMs
      let forgotten = 0
      for (const [peerId, seen] of remote) {
        if (seen > before || leases.countHeldBy(peerId) > 0) continue
        remote.delete(peerId)
        options.forget(peerId)
        forgotten++
      }
      return forgotten
    },

    isRemote: (peerId) => remote.has(peerId),

    connectedHere(peerId) {
      remote.delete(peerId)
    },

    get remoteCount() {
      return remote.size
    },
  }
}
