import type { AccountCredits, JobSpec, JobView, TaskResultRecord } from '@tabswarm/protocol'
import type {
  CoordinatorApi,
  CoordinatorStats,
  JobEvent,
} from '../../coordinator/coordinator-api.ts'
import { CoordinatorError } from '../../coordinator/coordinator-error.ts'

/**
 * An in-memory `CoordinatorApi` for the HTTP API's unit tests: jobs are recorded as
 * submitted, and the test drives them (`accept`, `finish`) to see what clients are told.
 */
export interface FakeCoordinatorApi extends CoordinatorApi {
  readonly specs: Map<string, JobSpec>
  /** Records an accepted result for a task of the job and publishes it. */
  accept(jobId: string, index: number): TaskResultRecord
  /** Ends a running job. */
  finish(jobId: string, status: 'completed' | 'failed'): void
  /** Live subscriptions, to check that streams unsubscribe. */
  subscribers(jobId: string): number
  statsValue: CoordinatorStats
}

export function createFakeCoordinatorApi(now: () => number = Date.now): FakeCoordinatorApi {
  const jobs = new Map<string, JobView>()
  const results = new Map<string, TaskResultRecord[]>()
  const listeners = new Map<string, Set<(event: JobEvent) => void>>()
  const specs = new Map<string, JobSpec>()
  let next = 0

  const require = (id: string) => {
    const job = jobs.get(id)
    if (job == null) throw new CoordinatorError('JOB_NOT_FOUND', `no job with id ${id}`)
    return job
  }
  const emit = (id: string, event: JobEvent) => {
    for (const listener of listeners.get(id) ?? []) listener(event)
  }
  const taskCount = (spec: JobSpec) => (spec.kernel === 'custom' ? spec.tasks.length : 4)

  const fake: FakeCoordinatorApi = {
    specs,
    statsValue: {
      gauges: {
        queueDepth: 7,
        activeLeases: 3,
        contributorsOnline: 5,
        bannedContributors: 1,
        jobs: { running: 2, completed: 9, failed: 1, cancelled: 0 },
      },
      counters: {
        tasksDispatched: 120,
        results: [
          { outcome: 'accepted', method: 'freivalds', count: 100 },
          { outcome: 'rejected', method: 'freivalds', count: 4 },
          { outcome: 'stale', method: 'none', count: 2 },
        ],
        creditsPaid: 1000n,
        creditsRefunded: 50n,
        canariesIssued: 6,
        spotChecks: 3,
        bans: 1,
        verdictsDropped: 2,
      },
    },
    async quote(spec) {
      return { flops: 1e6, tasks: taskCount(spec), credits: '42' }
    },
    async submit(spec, owner) {
      const id = `job${++next}`
      specs.set(id, spec)
      const job: JobView = {
        id,
        kernel: spec.kernel,
        owner: owner.account,
        status: 'running',
        priority: spec.priority ?? 1,
        tasks: { total: taskCount(spec), accepted: 0, leased: 0, rejectedResults: 0 },
        credits: { budget: '42', spent: '0', refunded: '0' },
        createdAt: now(),
        ...(spec.kernel === 'matmul'
          ? {
              args: {
                m: spec.inputs.a.shape[0]!,
                k: spec.inputs.a.shape[1]!,
                n: spec.inputs.b.shape[1]!,
              },
            }
          : {}),
      }
      jobs.set(id, job)
      results.set(id, [])
      return structuredClone(job)
    },
    getJob: async (id) => structuredClone(require(id)),
    async listJobs(query = {}) {
      const mine = [...jobs.values()].filter(
        (job) =>
          (query.owner == null || job.owner === query.owner) &&
          (query.status == null || job.status === query.status) &&
          (query.idPrefix == null || job.id.startsWith(query.idPrefix)),
      )
      return { jobs: mine.slice(0, query.limit ?? 50) }
    },
    async cancel(id, owner) {
      const job = require(id)
      if (owner != null && owner.account !== job.owner)
        throw new CoordinatorError('JOB_NOT_FOUND', `no job with id ${id}`)
      if (job.status !== 'running')
        throw new CoordinatorError(
          'JOB_FINISHED',
          `job ${id} already ${job.status}; nothing to cancel`,
        )
      job.status = 'cancelled'
      job.credits.refunded = (BigInt(job.credits.budget) - BigInt(job.credits.spent)).toString()
      job.finishedAt = now()
      emit(id, { type: 'cancelled', job: structuredClone(job) })
      return structuredClone(job)
    },
    async jobDetail(id) {
      const job = structuredClone(require(id))
      const { total, accepted, leased, rejectedResults } = job.tasks
      return {
        job,
        tasks: {
          total,
          queued: total - accepted - leased,
          leased,
          awaitingSecondOpinion: 0,
          awaitingConfirmation: 0,
          accepted,
        },
        verification: {
          freivalds: accepted,
          recomputed: 0,
          agreed: 0,
          canary: 0,
          trusted: 0,
          rejected: rejectedResults,
        },
        flops: 1e6,
        timings: {
          createdAt: job.createdAt,
          ...(job.finishedAt != null ? { finishedAt: job.finishedAt } : {}),
          elapsedMs: Math.max(0, (job.finishedAt ?? now()) - job.createdAt),
        },
        throughput: { tasksPerSecond: 0, gflopPerSecond: 0 },
        history: [],
      }
    },
    async results(id, options = {}) {
      const job = require(id)
      const after = options.after ?? 0
      const page = results
        .get(id)!
        .filter((r) => r.seq > after)
        .slice(0, options.limit ?? 100)
      return {
        results: page,
        cursor: page.at(-1)?.seq ?? after,
        done: job.status !== 'running' && page.length === 0,
      }
    },
    subscribe(id, listener) {
      require(id)
      const set = listeners.get(id) ?? new Set()
      listeners.set(id, set)
      set.add(listener)
      return () => set.delete(listener)
    },
    async jobOutput(id) {
      const job = require(id)
      if (job.status !== 'completed')
        throw new CoordinatorError('JOB_NOT_COMPLETE', `job ${id} is ${job.status}`)
      const { m, n } = job.args!
      return Float32Array.from({ length: m * n }, (_, i) => i)
    },
    async inferenceOutput(id) {
      const job = require(id)
      if (job.status !== 'completed')
        throw new CoordinatorError('JOB_NOT_COMPLETE', `job ${id} is ${job.status}`)
      return { sequences: [{ index: 0, tokens: [1, 2, 3], finish: 'length' }] }
    },
    async account(account): Promise<AccountCredits> {
      return { account, balance: 100n, escrowed: 42n, earned: 7n, pending: 1n }
    },
    async grant(account) {
      return fake.account(account)
    },
    stats: () => fake.statsValue,
    networkFigures: (hours) => {
      const hour = Math.floor(now() / 3_600_000) * 3_600_000
      return {
        contributors: { online: 5, gflopPerSecond: 250 },
        compute: {
          totalGflop: 1234.5,
          tasks: 100,
          hourly: Array.from({ length: hours }, (_, i) => ({
            hour: hour - (hours - 1 - i) * 3_600_000,
            gflop: i === hours - 1 ? 12.5 : 0,
            tasks: i === hours - 1 ? 3 : 0,
          })),
        },
        jobs: { total: 12, byStatus: { running: 2, completed: 9, failed: 1, cancelled: 0 } },
        creditsPaid: 1000n,
      }
    },
    durable: async () => {},
    accept(jobId, index) {
      const job = require(jobId)
      const list = results.get(jobId)!
      const record: TaskResultRecord = {
        seq: list.length + 1,
        taskId: `${jobId}-t${index}`,
        index,
        outputs: [{ blob: 'ab'.repeat(32), dtype: 'float32', shape: [2, 2] }],
        method: 'freivalds',
        acceptedAt: now(),
      }
      list.push(record)
      job.tasks.accepted++
      emit(jobId, { type: 'result', job: structuredClone(job), result: record })
      emit(jobId, { type: 'progress', job: structuredClone(job) })
      return record
    },
    finish(jobId, status) {
      const job = require(jobId)
      job.status = status
      job.finishedAt = now()
      emit(jobId, { type: status, job: structuredClone(job) })
    },
    subscribers: (jobId) => listeners.get(jobId)?.size ?? 0,
  }
  return fake
}
