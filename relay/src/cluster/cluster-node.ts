import type { Coordinator } from '../coordinator/coordinator.ts'
import type { WorkGateway } from '../coordinator/coordinator-api.ts'
import { type Logger, silentLogger } from '../log.ts'
import { withTransaction } from '../store/postgres/postgres-pool.ts'
import { DB_NOW_MS } from '../store/postgres/postgres-query.ts'
import type { ClusterStore } from './cluster-store.ts'
import { listenCluster, notifyCluster } from './cluster-wake.ts'
import { startOfferPublisher } from './offer-publisher.ts'
import { createOfferedWork } from './offered-work.ts'
import { runOwnershipLoop } from './ownership-loop.ts'
import { reserveResultSeqBlock } from './result-seq-block.ts'
import type { SharedInputs } from './shared-inputs.ts'
import { createTaskOffers } from './task-offers.ts'

export interface ClusterNodeOptions {
  /** The shared database and this coordinator's store over it (`openClusterStore`). */
  cluster: ClusterStore
  coordinator: Coordinator
  log?: Logger
  /** Jobs taken over per round. @default 100 */
  batch?: number
  /**
   * A coordinator with no contributors online for this long hands its jobs back, so a
   * coordinator whose contributors are idle takes them (contributors may connect to any
   * relay). @default 10_000
   */
  handoffAfterMs?: number
  /**
   * How long a lapsed job waits before a coordinator with no contributors online takes it:
   * one with contributors gets it first. @default 3 × the ownership lease
   */
  idleTakeoverDelayMs?: number
  /**
   * Where offered tasks' inputs are put for the other relays, and read from theirs: the
   * blob directory the relays of a cluster share. Without it, tasks are not shared: a
   * job's tasks go only to this relay's contributors, and to others' when the job moves.
   * @default none
   */
  sharedInputs?: SharedInputs
}

export interface ClusterNode {
  readonly coordinatorId: string
  /** Jobs this coordinator runs now. */
  owned(): ReadonlyMap<string, bigint>
  /**
   * What the work service serves contributors from: this coordinator's tasks first, then
   * tasks other relays offer (the coordinator itself when tasks are not shared).
   */
  readonly work: WorkGateway
  stats(): {
    ownership: ReturnType<ReturnType<typeof runOwnershipLoop>['stats']>
    takeovers: number
    takeoverFailures: number
    cancelsActedOn: number
    /** Jobs handed back for want of contributors here. */
    handedOff: number
    offers?: {
      published: ReturnType<ReturnType<typeof startOfferPublisher>['stats']>
      claimed: ReturnType<ReturnType<typeof createOfferedWork>['stats']>
    }
  }
  /** Hands every job back (others take them at once) and stops. */
  stop(): Promise<void>
}

/**
 * A coordinator's part in a cluster: it keeps the jobs it owns (renewing their leases),
 * takes over jobs whose coordinator died, a batch at a time (woken by notifications, or by
 * polling), and drops jobs it lost. Taking a job over loads its rows from the database into
 * the coordinator's memory and resumes it as a restart would; losing one stops it in
 * memory without a write. It also acts on cancels other relays asked for.
 */
export async function startClusterNode(options: ClusterNodeOptions): Promise<ClusterNode> {
  const { coordinator } = options
  const { pool, shared, ownership, working, memory } = options.cluster
  // Jobs whose writes the database refused are dropped here as lost ones are.
  options.cluster.onLost((jobIds) => {
    for (const id of jobIds) coordinator.releaseJob(id)
  })
  const log = options.log ?? silentLogger
  const stop = new AbortController()
  let block = await reserveResultSeqBlock(pool, stop.signal)
  memory.setNextResultSeq(block)
  let takeovers = 0
  let takeoverFailures = 0
  let cancelsActedOn = 0
  let handedOff = 0
  const handoffAfterMs = options.handoffAfterMs ?? 10_000
  const idleTakeoverDelayMs = options.idleTakeoverDelayMs ?? 3 * ownership.leaseMs
  const contributorsOnline = () => coordinator.stats().gauges.contributorsOnline
  const offers = createTaskOffers(pool)
  const sharing = options.sharedInputs
  const publisher =
    sharing != null
      ? startOfferPublisher({
          offers,
          coordinator,
          ownerId: ownership.coordinatorId,
          shareInput: (sha256, bytes) => sharing.put(sha256, bytes),
          signal: stop.signal,
          log: log.child('offers'),
        })
      : undefined
  const offered =
    sharing != null
      ? createOfferedWork({
          local: coordinator,
          offers,
          relayId: ownership.coordinatorId,
          readable: (sha256) => sharing.has(sha256),
          announceWant: (count, signal) =>
            notifyCluster(pool, { type: 'wanted', by: ownership.coordinatorId, count }).then(
              () => undefined,
              (err: Error) => {
                if (!signal.aborted) throw err
              },
            ),
          signal: stop.signal,
          log: log.child('offered'),
        })
      : undefined
  let lastContributorAt = Date.now()

  async function takeOver(jobId: string, signal: AbortSignal): Promise<void> {
    const snapshot = await shared.jobSnapshot(jobId, signal)
    if (snapshot == null || snapshot.job.status !== 'running') {
      // Ended (or gone) with its owner row left behind: nothing to run.
      await ownership.release([jobId], signal)
      return
    }
    let newest = 0
    for (const r of snapshot.results) if ((r.seq ?? 0) > newest) newest = r.seq ?? 0
    // Its results numbered from a block at or above ours: ours must rise above them, or the
    // job's next results would sort before its last ones.
    const renumber = newest >= block
    if (renumber) block = await reserveResultSeqBlock(pool, signal)
    working.quietly(() => {
      memory.restoreJob(snapshot)
      for (const blob of snapshot.blobs) memory.putBlob(blob.hash, blob.bytes)
      // A contributor connected here has its freshest record here already.
      for (const c of snapshot.contributors)
        if (memory.getContributor(c.id) == null) memory.putContributor(c)
    })
    if (renumber) memory.setNextResultSeq(block)
    // Offers its last owner left on the table: their results could no longer be recorded.
    // Relays holding some drop them when they hear of it.
    await withTransaction(
      pool,
      async (client) => {
        await offers.withdrawJobs([jobId], { client })
        await notifyCluster(client, { type: 'moved', jobId })
      },
      { signal },
    )
    if (!coordinator.resumeJob(jobId)) throw new Error(`job ${jobId} did not resume`)
    takeovers++
    log.info('job taken over', {
      job: jobId,
      accepted: snapshot.job.acceptedTasks,
      tasks: snapshot.job.totalTasks,
    })
  }

  const loop = runOwnershipLoop({
    ownership,
    signal: stop.signal,
    log,
    ...(options.batch != null ? { batch: options.batch } : {}),
    lapsedForMs: () => (contributorsOnline() > 0 ? 0 : idleTakeoverDelayMs),
    async onTaken(jobs, signal) {
      const failed: string[] = []
      for (const { jobId } of jobs) {
        try {
          await takeOver(jobId, signal)
        } catch (err) {
          takeoverFailures++
          failed.push(jobId)
          log.error('taking a job over failed', { job: jobId, error: (err as Error).message })
        }
      }
      if (failed.length > 0) await ownership.release(failed, signal).catch(() => {})
    },
    onLost(jobIds) {
      for (const id of jobIds) coordinator.releaseJob(id)
      // What it did with them since its last write is void: were those writes to reach the
      // database later (after this one took a job back, say), they would land twice.
      const dropped = working.discard(
        jobIds,
        new Error(
          `the lease of ${jobIds.length === 1 ? `job ${jobIds[0]}` : `${jobIds.length} jobs`} lapsed before these changes reached the database`,
        ),
      )
      log.warn('jobs lost: their lease lapsed or another coordinator took them', {
        jobs: jobIds.length,
        changesDropped: dropped,
      })
    },
  })

  const listener = listenCluster({
    url: options.cluster.url,
    signal: stop.signal,
    log,
    pollMs: ownership.renewMs,
    onWake(wake) {
      const event = wake.reason === 'notify' ? wake.event : undefined
      if (event?.type === 'cancel') {
        if (ownership.owned().has(event.jobId)) actOnCancels()
      } else if (event?.type === 'returns') {
        if (event.to === ownership.coordinatorId) publisher?.wake()
      } else if (event?.type === 'verdicts') {
        if (event.to === ownership.coordinatorId) offered?.wake()
      } else if (event?.type === 'wanted') {
        publisher?.wanted(event.by, event.count)
      } else if (event?.type === 'moved') {
        offered?.dropJob(event.jobId)
      } else if (event?.type === 'offers') {
        if (event.by !== ownership.coordinatorId) offered?.wake()
      } else {
        loop.wake()
        publisher?.wake()
        offered?.wake()
      }
    },
  })

  /** Cancels other relays asked for, of jobs this coordinator runs. */
  function actOnCancels(): void {
    const owned = [...ownership.owned().keys()]
    if (owned.length === 0) return
    pool
      .query<{ job_id: string; account: string | null }>(
        "DELETE FROM job_requests WHERE kind = 'cancel' AND job_id = ANY($1) RETURNING job_id, account",
        [owned],
      )
      .then(async ({ rows }) => {
        for (const row of rows) {
          if (!coordinator.runs(row.job_id)) continue
          await coordinator
            .cancel(row.job_id, row.account != null ? { account: row.account } : undefined)
            .then(() => cancelsActedOn++)
            .catch((err: Error) =>
              log.warn('a requested cancel failed', { job: row.job_id, error: err.message }),
            )
        }
      })
      .catch((err: Error) => log.warn('reading cancel requests failed', { error: err.message }))
  }
  /**
   * Jobs here with nobody to run them go back to the cluster when another coordinator is
   * alive to take them: first stopped here (no more writes), then written out, then
   * released.
   */
  let handingOff = false
  async function handOffIfIdle(): Promise<void> {
    if (contributorsOnline() > 0) {
      lastContributorAt = Date.now()
      return
    }
    const jobs = [...ownership.owned().keys()]
    if (handingOff || jobs.length === 0 || Date.now() - lastContributorAt < handoffAfterMs) return
    handingOff = true
    try {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM coordinators
         WHERE id <> $1 AND seen_at > ${DB_NOW_MS} - $2`,
        [ownership.coordinatorId, 2 * ownership.leaseMs],
      )
      if ((rows[0]?.n ?? 0) === 0) return
      for (const id of jobs) coordinator.releaseJob(id)
      try {
        await working.drain()
        await ownership.release(jobs, AbortSignal.timeout(ownership.leaseMs))
      } catch (err) {
        // Not running here any more: stop renewing them, and let their leases lapse.
        ownership.forget(jobs)
        working.discard(jobs, new Error('handing the jobs back failed: their leases lapse'))
        throw err
      }
      handedOff += jobs.length
      log.info('jobs handed back: no contributors here', { jobs: jobs.length })
      lastContributorAt = Date.now()
    } finally {
      handingOff = false
    }
  }

  /**
   * Bans other relays made, copied into memory, where a registering contributor is checked
   * (the first round reads them all). Ban times are the banning relays' clocks: a minute of
   * overlap between rounds covers their skew; copying one twice changes nothing.
   */
  let bansSeenAt = 0
  let readingBans = false
  async function copyBans(): Promise<void> {
    if (readingBans) return
    readingBans = true
    try {
      const { rows } = await pool.query<{ key: string; reason: string; at: string }>(
        'SELECT key, reason, at::text AS at FROM bans WHERE at >= $1 ORDER BY at LIMIT 10000',
        [Math.max(0, bansSeenAt - 60_000)],
      )
      const before = bansSeenAt
      working.quietly(() => {
        for (const row of rows) memory.addBan(row.key, row.reason, Number(row.at))
      })
      for (const row of rows) bansSeenAt = Math.max(bansSeenAt, Number(row.at))
      // Newer bans stop the contributors they name that are connected here, at once.
      if (bansSeenAt > before) coordinator.applyStoredBans()
    } finally {
      readingBans = false
    }
  }

  // Notifications can be missed (a reconnection): the requests are read every round too.
  const cancels = setInterval(() => {
    copyBans().catch((err: Error) => log.warn('reading bans failed', { error: err.message }))
    actOnCancels()
    handOffIfIdle().catch((err: Error) =>
      log.warn('handing idle jobs back failed', { error: err.message }),
    )
  }, ownership.renewMs)
  cancels.unref()

  return {
    coordinatorId: ownership.coordinatorId,
    owned: () => ownership.owned(),
    work: offered ?? coordinator,
    stats: () => ({
      ...(publisher != null && offered != null
        ? { offers: { published: publisher.stats(), claimed: offered.stats() } }
        : {}),
      ownership: loop.stats(),
      takeovers,
      takeoverFailures,
      cancelsActedOn,
      handedOff,
    }),
    async stop() {
      clearInterval(cancels)
      stop.abort(new Error('the relay is stopping'))
      await loop.done
      await publisher?.done
      await offered?.close()
      await listener.close()
      // What this coordinator wrote is in the database; its jobs go to the others now.
      await working.drain().catch(() => {})
      const jobs = [...ownership.owned().keys()]
      for (const id of jobs) coordinator.releaseJob(id)
      await ownership
        .release(jobs, AbortSignal.timeout(5_000))
        .catch((err: Error) =>
          log.warn('handing jobs back failed; they lapse instead', { error: err.message }),
        )
    },
  }
}
