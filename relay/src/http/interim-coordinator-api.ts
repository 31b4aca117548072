import type { BlobStore } from '../blobs/blob-store.ts'
import type { Coordinator } from '../coordinator/coordinator.ts'
import type {
  CoordinatorApi,
  CoordinatorStats,
  JobEvent,
  JobView,
} from '../coordinator/coordinator-api.ts'
import { CoordinatorError } from '../coordinator/coordinator-error.ts'
import type { JobView as LegacyJobView } from '../coordinator/job-types.ts'
import type { JobSpec } from '../protocol/job-spec.ts'
import { ApiError } from './error-response.ts'

/**
 * The in-memory matmul coordinator seen through the `CoordinatorApi` facade, so the HTTP API
 * serves it until the durable coordinator implements the facade itself. It keeps what the old
 * coordinator lacks (owners) beside it; it has no ledger (prices and balances are zero),
 * runs matmul jobs only, and keeps no per-task results (`/results` pages are empty).
 */
export function interimCoordinatorApi(
  coordinator: Coordinator,
  blobs: BlobStore,
  options: { tileSize: number },
): CoordinatorApi {
  const owners = new Map<string, string>()
  const view = (job: LegacyJobView): JobView => ({
    ...job,
    owner: owners.get(job.id) ?? 'local',
    priority: 1,
    credits: { budget: 0, spent: 0, refunded: 0 },
  })
  const tensor = (name: 'a' | 'b', ref: { blob: string; shape: number[] }) => {
    const bytes = blobs.get(ref.blob)
    if (bytes == null)
      throw new ApiError('BLOB_NOT_FOUND', `inputs.${name}: no blob ${ref.blob}; upload it first`)
    const expected = ref.shape.reduce((p, d) => p * d, 1) * 4
    if (bytes.byteLength !== expected) {
      throw new ApiError(
        'INVALID_JOB',
        `inputs.${name}: shape ${ref.shape.join('x')} float32 needs ${expected} bytes, blob has ${bytes.byteLength}`,
      )
    }
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
  }
  const matmulOnly = (spec: JobSpec) => {
    if (spec.kernel !== 'matmul')
      throw new ApiError(
        'INVALID_JOB',
        'kernel: custom kernels need the durable coordinator, not wired in this build',
      )
    const [m, k] = spec.inputs.a.shape as [number, number]
    const n = spec.inputs.b.shape[1]!
    return { spec, m, k, n }
  }

  return {
    async quote(spec) {
      const { m, k, n } = matmulOnly(spec)
      const tasks = Math.ceil(m / options.tileSize) * Math.ceil(n / options.tileSize)
      return { flops: 2 * m * k * n, tasks, credits: 0 }
    },
    async submit(spec, owner) {
      const { m, k, n } = matmulOnly(spec)
      if (spec.kernel !== 'matmul') throw new Error('unreachable')
      const job = coordinator.submitMatmul({
        a: tensor('a', spec.inputs.a),
        b: tensor('b', spec.inputs.b),
        m,
        k,
        n,
      })
      owners.set(job.id, owner.account)
      return view(job)
    },
    getJob: async (id) => view(coordinator.getJob(id)),
    async listJobs(query = {}) {
      const limit = Math.min(query.limit ?? 50, 500)
      const all = coordinator
        .listJobs()
        .map(view)
        .filter(
          (job) =>
            (query.owner == null || job.owner === query.owner) &&
            (query.status == null || job.status === query.status),
        )
        .sort((x, y) => y.createdAt - x.createdAt)
      const start = query.cursor == null ? 0 : Number(query.cursor)
      if (!Number.isInteger(start) || start < 0)
        throw new ApiError('INVALID_QUERY', `query.cursor: not a cursor this relay issued`)
      const jobs = all.slice(start, start + limit)
      return start + limit < all.length ? { jobs, nextCursor: String(start + limit) } : { jobs }
    },
    async cancel(id, owner) {
      if (owner != null && (owners.get(id) ?? 'local') !== owner.account) {
        throw new CoordinatorError('JOB_NOT_FOUND', `no job with id ${id}`)
      }
      return view(coordinator.cancel(id))
    },
    async results(id, options = {}) {
      const job = coordinator.getJob(id)
      return { results: [], cursor: options.after ?? 0, done: job.status !== 'running' }
    },
    subscribe: (id, listener) =>
      coordinator.subscribe(id, (event) =>
        listener({ type: event.type, job: view(event.job) } as JobEvent),
      ),
    jobOutput: async (id) => coordinator.jobOutput(id),
    account: async (account) => ({ account, balance: 0, escrowed: 0, earned: 0, pending: 0 }),
    async grant() {
      throw new ApiError('BAD_REQUEST', 'this build has no ledger')
    },
    stats(): CoordinatorStats {
      const s = coordinator.stats()
      const jobs = { running: 0, completed: 0, failed: 0, cancelled: 0 }
      for (const job of coordinator.listJobs()) jobs[job.status]++
      return {
        gauges: {
          queueDepth: s.queuedTasks,
          activeLeases: s.activeLeases,
          contributorsOnline: s.contributors,
          bannedContributors: 0,
          jobs,
        },
        counters: {
          tasksDispatched: 0,
          results: [],
          creditsPaid: 0,
          creditsRefunded: 0,
          canariesIssued: 0,
          spotChecks: 0,
          bans: 0,
        },
      }
    },
  }
}
