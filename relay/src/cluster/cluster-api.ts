import type { JobView, TaskResultRecord } from '@tabswarm/protocol'
import type { BlobStore } from '../blobs/blob-store.ts'
import { createMemoryBlobStore } from '../blobs/blob-store.ts'
import { accountKey } from '../coordinator/contributors/account-key.ts'
import type { Coordinator } from '../coordinator/coordinator.ts'
import type { CoordinatorApi, JobEvent } from '../coordinator/coordinator-api.ts'
import { CoordinatorError } from '../coordinator/coordinator-error.ts'
import { jobDetail, THROUGHPUT_WINDOW_MS } from '../coordinator/jobs/job-detail.ts'
import { assembleMatmulOutput } from '../coordinator/jobs/job-output.ts'
import { usefulFlops } from '../coordinator/jobs/job-planner.ts'
import { parseJobQuery } from '../coordinator/jobs/job-query.ts'
import { jobView } from '../coordinator/jobs/job-view.ts'
import { storedTaskStates } from '../coordinator/jobs/task-states.ts'
import { EARNING_KINDS, escrowAccount, parsePendingAccount } from '../ledger/ledger.ts'
import type { Logger } from '../log.ts'
import { silentLogger } from '../log.ts'
import type { CoordinatorStore, StoredJob } from '../store/coordinator-store.ts'

/** What the cluster API reads from the shared database: the store's reads, awaited. */
export interface SharedReads {
  getJob(id: string): Promise<StoredJob | undefined>
  listJobs(query: Parameters<CoordinatorStore['listJobs']>[0]): Promise<StoredJob[]>
  results(jobId: string, after: number, limit: number): Promise<TaskResultRecord[]>
  resultSummary(
    jobId: string,
    since: number,
  ): ReturnType<CoordinatorStore['resultSummary']> extends infer R ? Promise<R> : never
  balance(account: string): Promise<bigint>
  balancesWithPrefix(prefix: string): Promise<Array<{ account: string; balance: bigint }>>
  creditedTotal(
    account: string,
    kinds: Parameters<CoordinatorStore['creditedTotal']>[1],
  ): Promise<bigint>
  getBlob(hash: string): Promise<Uint8Array | undefined>
}

export interface ClusterApiOptions {
  /** This relay's coordinator: the jobs it runs are answered from its memory. */
  coordinator: Coordinator
  shared: SharedReads
  /** Large blobs, on the directory the relays share. */
  blobs: BlobStore
  /** Asks the owner of a job to cancel it (a `job_requests` row and a notification). */
  requestCancel(jobId: string, account: string | undefined, signal: AbortSignal): Promise<void>
  /** Before a submit: the researcher's balance as the database has it, copied into memory. */
  refreshAccount(account: string, signal: AbortSignal): Promise<void>
  /** The cluster's public figures (`createSharedNetworkFigures`). @default this relay's own */
  networkFigures?: CoordinatorApi['networkFigures']
  /** How often a job run by another relay is read again for a subscriber. @default 1_000 */
  pollMs?: number
  /** How long `cancel` waits for the owner to act. @default 15_000 */
  cancelTimeoutMs?: number
  /** Database reads. @default 10_000 */
  readTimeoutMs?: number
  log?: Logger
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled'])

/**
 * The researcher's API of a relay in a cluster: a job this relay's coordinator runs is
 * answered from its memory, as on a single relay; any other job is read from the shared
 * database (its row, its published results, its account figures), so a researcher may ask
 * any relay about any job. A subscriber to a job run elsewhere is fed by polling its row
 * and results; a cancel of one is handed to its owner through the database.
 */
export function createClusterApi(options: ClusterApiOptions): CoordinatorApi {
  const { coordinator, shared } = options
  const log = options.log ?? silentLogger
  const pollMs = options.pollMs ?? 1_000
  const cancelTimeoutMs = options.cancelTimeoutMs ?? 15_000
  const readTimeoutMs = options.readTimeoutMs ?? 10_000
  const bounded = () => AbortSignal.timeout(readTimeoutMs)

  async function sharedRow(id: string): Promise<StoredJob> {
    const row = typeof id === 'string' && id.length <= 64 ? await shared.getJob(id) : undefined
    if (row == null) throw new CoordinatorError('JOB_NOT_FOUND', `no job with id ${id}`)
    return row
  }

  const api: CoordinatorApi = {
    quote: (spec) => coordinator.quote(spec),

    async submit(spec, owner) {
      await options.refreshAccount(accountKey(owner.account), bounded())
      return coordinator.submit(spec, owner)
    },

    async getJob(id) {
      if (coordinator.runs(id)) return coordinator.getJob(id)
      return jobView(await sharedRow(id))
    },

    async jobDetail(id) {
      if (coordinator.runs(id)) return coordinator.jobDetail(id)
      const row = await sharedRow(id)
      const now = Date.now()
      return jobDetail({
        view: jobView(row),
        row,
        states: storedTaskStates(row),
        summary: await shared.resultSummary(id, now - THROUGHPUT_WINDOW_MS),
        flops: usefulFlops(row.spec),
        history: [],
        now,
      })
    },

    async listJobs(query = {}) {
      const { limit, store: storeQuery } = parseJobQuery(query)
      const rows = await shared.listJobs({ ...storeQuery, limit: limit + 1 })
      const page = await Promise.all(
        rows
          .slice(0, limit)
          .map((row) => (coordinator.runs(row.id) ? coordinator.getJob(row.id) : jobView(row))),
      )
      return rows.length > limit
        ? { jobs: page, nextCursor: String(rows[limit - 1]!.seq) }
        : { jobs: page }
    },

    async cancel(id, owner) {
      if (coordinator.runs(id)) return coordinator.cancel(id, owner)
      const row = await sharedRow(id)
      if (owner != null && row.owner !== accountKey(owner.account))
        throw new CoordinatorError('NOT_OWNER', `job ${id} belongs to another account`)
      if (TERMINAL.has(row.status))
        throw new CoordinatorError(
          'JOB_FINISHED',
          `job ${id} already ${row.status}; nothing to cancel`,
        )
      const signal = AbortSignal.timeout(cancelTimeoutMs)
      await options.requestCancel(id, owner != null ? accountKey(owner.account) : undefined, signal)
      for (;;) {
        // The owner may be this relay by now (it took the job over): then it cancels here.
        if (coordinator.runs(id)) return coordinator.cancel(id, owner)
        const now = await sharedRow(id)
        if (TERMINAL.has(now.status)) return jobView(now)
        if (signal.aborted)
          throw new CoordinatorError(
            'CANCEL_PENDING',
            `the relay running job ${id} did not cancel it within ${cancelTimeoutMs / 1000} s; the cancel stays requested and is acted on when it (or the relay taking it over) next looks`,
          )
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    },

    async results(id, { after = 0, limit = 100 } = {}) {
      if (coordinator.runs(id)) return coordinator.results(id, { after, limit })
      const row = await sharedRow(id)
      const safeAfter = Number.isSafeInteger(after) && after > 0 ? after : 0
      const safeLimit = Math.min(Math.max(1, Math.floor(limit)), 1000)
      const results = await shared.results(id, safeAfter, safeLimit)
      const cursor = results.at(-1)?.seq ?? safeAfter
      return { results, cursor, done: TERMINAL.has(row.status) && results.length < safeLimit }
    },

    subscribe(id, listener) {
      // Live events while this relay runs the job; read from the database while another
      // does (or once it ended elsewhere). The event feed drops results it already sent.
      const local = coordinator.runs(id) ? coordinator.subscribe(id, listener) : () => {}
      let cursor = 0
      let last = ''
      let stopped = false
      const poll = async () => {
        if (stopped || coordinator.runs(id)) return
        const row = await shared.getJob(id)
        if (row == null || stopped) return
        const view = jobView(row)
        for (;;) {
          const page = await shared.results(id, cursor, 256)
          for (const result of page) {
            cursor = result.seq
            listener({ type: 'result', job: view, result })
          }
          if (page.length < 256) break
        }
        const key = `${row.status}/${row.acceptedTasks}/${row.rejectedResults}/${row.closedTasks ?? 0}`
        if (key === last) return
        last = key
        const type = TERMINAL.has(row.status) ? (row.status as 'completed') : 'progress'
        listener({ type, job: view } as JobEvent)
        if (type !== 'progress') stop()
      }
      const timer = setInterval(() => {
        poll().catch((err: Error) =>
          log.warn('reading a job for its subscriber failed', { job: id, error: err.message }),
        )
      }, pollMs)
      timer.unref()
      function stop() {
        stopped = true
        clearInterval(timer)
      }
      return () => {
        stop()
        local()
      }
    },

    async jobOutput(id) {
      if (coordinator.runs(id)) return coordinator.jobOutput(id)
      const row = await sharedRow(id)
      if (row.status !== 'completed')
        throw new CoordinatorError('JOB_NOT_COMPLETE', `job ${id} is ${row.status}, not completed`)
      if (row.kernel !== 'matmul')
        throw new CoordinatorError(
          'INVALID_JOB',
          `job ${id} is a ${row.kernel} job: its output is not one matrix`,
        )
      const results = await shared.results(id, 0, Number.MAX_SAFE_INTEGER)
      // The tiles' bytes: small ones are rows of the database, large ones on the shared directory.
      const tiles = createMemoryBlobStore()
      for (const result of results)
        for (const output of result.outputs) {
          const bytes = options.blobs.get(output.blob) ?? (await shared.getBlob(output.blob))
          if (bytes == null)
            throw new CoordinatorError(
              'JOB_NOT_COMPLETE',
              `job ${id}: the output ${output.blob} of task ${result.index} is on no relay's blob store: is the blob directory shared by every relay?`,
            )
          tiles.put(bytes)
        }
      return assembleMatmulOutput(row, results, tiles)
    },

    inferenceOutput: (id) => coordinator.inferenceOutput(id),

    async account(name) {
      const account = accountKey(name)
      const [balance, earned, pendingRows, running] = await Promise.all([
        shared.balance(account),
        shared.creditedTotal(account, EARNING_KINDS),
        shared.balancesWithPrefix(`pending:${account}:`),
        shared.listJobs({ owner: account, status: 'running', limit: 500 }),
      ])
      let pending = 0n
      for (const { account: name, balance } of pendingRows)
        if (parsePendingAccount(name)?.payee === account) pending += balance
      let escrowed = 0n
      for (const job of running) escrowed += await shared.balance(escrowAccount(job.id))
      return { account, balance, escrowed, earned, pending }
    },

    async grant(name, credits) {
      await coordinator.grant(name, credits)
      return api.account(name)
    },

    stats: () => coordinator.stats(),
    networkFigures: options.networkFigures ?? ((hours) => coordinator.networkFigures(hours)),
    durable: () => coordinator.durable(),
  }
  return api
}

export type { JobView }
