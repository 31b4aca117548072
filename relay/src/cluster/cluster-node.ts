import type pg from 'pg'
import type { Coordinator } from '../coordinator/coordinator.ts'
import { type Logger, silentLogger } from '../log.ts'
import type { PostgresStore } from '../store/postgres/postgres-store.ts'
import type { SqliteStore } from '../store/sqlite-store.ts'
import { listenCluster } from './cluster-wake.ts'
import { runOwnershipLoop } from './ownership-loop.ts'
import type { PostgresJobOwnership } from './postgres-job-ownership.ts'
import { reserveResultSeqBlock } from './result-seq-block.ts'
import type { WriteBehindStore } from './write-behind-store.ts'

export interface ClusterNodeOptions {
  pool: pg.Pool
  /** The database URL, for the connection that listens for notifications. */
  url: string
  shared: Pick<PostgresStore, 'jobSnapshot'>
  ownership: PostgresJobOwnership
  /** The coordinator's store: the write-behind over `memory`. */
  working: WriteBehindStore
  memory: SqliteStore
  coordinator: Coordinator
  log?: Logger
  /** Jobs taken over per round. @default 100 */
  batch?: number
}

export interface ClusterNode {
  readonly coordinatorId: string
  /** Jobs this coordinator runs now. */
  owned(): ReadonlyMap<string, bigint>
  stats(): {
    ownership: ReturnType<ReturnType<typeof runOwnershipLoop>['stats']>
    takeovers: number
    takeoverFailures: number
    cancelsActedOn: number
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
  const { pool, shared, ownership, working, memory, coordinator } = options
  const log = options.log ?? silentLogger
  const stop = new AbortController()
  let block = await reserveResultSeqBlock(pool, stop.signal)
  memory.setNextResultSeq(block)
  let takeovers = 0
  let takeoverFailures = 0
  let cancelsActedOn = 0

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
      log.warn('jobs lost to another coordinator', { jobs: jobIds.length })
    },
  })

  const listener = listenCluster({
    url: options.url,
    signal: stop.signal,
    log,
    pollMs: ownership.renewMs,
    onWake: () => loop.wake(),
  })

  // Cancels other relays asked for, of jobs this coordinator runs.
  const cancels = setInterval(() => {
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
  }, ownership.renewMs)
  cancels.unref()

  return {
    coordinatorId: ownership.coordinatorId,
    owned: () => ownership.owned(),
    stats: () => ({ ownership: loop.stats(), takeovers, takeoverFailures, cancelsActedOn }),
    async stop() {
      clearInterval(cancels)
      stop.abort(new Error('the relay is stopping'))
      await loop.done
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
