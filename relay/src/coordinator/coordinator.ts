import { type Capabilities, MAX_MESSAGE_BYTES } from '../protocol/index.ts'
import { type Clock, systemClock } from './clock.ts'
import { CoordinatorError } from './coordinator-error.ts'
import type {
  JobEvent,
  JobStatus,
  JobView,
  LeaseGrant,
  MatmulTask,
  ResultOutcome,
} from './job-types.ts'
import { columnBand, planMatmulTiles, rowBand, writeTile } from './matmul-tiling.ts'
import { cpuReferenceVerifier, type TileVerifier } from './tile-verifier.ts'

export interface CoordinatorOptions {
  /** @default Date.now */
  clock?: Clock
  /** @default recompute on the CPU and compare under the f32 tolerance */
  verifier?: TileVerifier
  /** How long a contributor holds a task before it goes back to the queue. @default 60_000 */
  leaseMs?: number
  /** Output tile edge for matmul jobs. @default 128 */
  tileSize?: number
  /** A task whose results fail verification this many times fails its job. @default 6 */
  maxTaskFailures?: number
  /**
   * Largest input payload of one task. A job whose tiles would need more is refused at
   * submit, not discovered when a contributor asks for it.
   * @default MAX_MESSAGE_BYTES less 1 MiB for the header
   */
  maxTaskInputBytes?: number
}

export interface MatmulJobSpec {
  a: Float32Array
  b: Float32Array
  m: number
  k: number
  n: number
}

interface MatmulJob {
  view: JobView
  a: Float32Array
  b: Float32Array
  /** Column bands of B, cut once per column block and shared by the tasks that need them. */
  bBands: Map<number, Float32Array>
  tasks: Map<string, MatmulTask>
  output: Float32Array
  listeners: Set<(event: JobEvent) => void>
}

interface ActiveLease {
  id: string
  jobId: string
  taskId: string
  peerId: string
  expiresAt: number
}

export interface Coordinator {
  submitMatmul(spec: MatmulJobSpec): JobView
  getJob(id: string): JobView
  listJobs(): JobView[]
  /** The finished product of a completed job. */
  jobOutput(id: string): Float32Array
  cancel(id: string): JobView
  subscribe(id: string, listener: (event: JobEvent) => void): () => void
  registerContributor(peerId: string, capabilities: Capabilities): void
  contributorLeft(peerId: string): void
  /** The next task for this contributor, or undefined when there is none. */
  lease(peerId: string): LeaseGrant | undefined
  submitResult(
    peerId: string,
    leaseId: string,
    output: Float32Array,
    shape: readonly number[],
  ): ResultOutcome
  /** Extends a lease this peer holds; undefined when it is unknown or over. */
  renewLease(
    peerId: string,
    leaseId: string,
  ): { expiresAt: number; expiresInMs: number } | undefined
  /** Returns expired leases' tasks to the queue. Also runs on every `lease` call. */
  reclaimExpiredLeases(): number
  stats(): { jobs: number; queuedTasks: number; activeLeases: number; contributors: number }
}

/**
 * Jobs, tasks and leases, held in memory. Contributors pull: a lease gives a task to one
 * peer until it returns a result or the lease expires; every result is verified before it
 * is accepted into the job's output.
 */
export function createCoordinator(options: CoordinatorOptions = {}): Coordinator {
  const clock = options.clock ?? systemClock
  const verify = options.verifier ?? cpuReferenceVerifier
  const leaseMs = options.leaseMs ?? 60_000
  const tileSize = options.tileSize ?? 128
  const maxTaskFailures = options.maxTaskFailures ?? 6
  const maxTaskInputBytes = options.maxTaskInputBytes ?? MAX_MESSAGE_BYTES - 1024 ** 2

  const jobs = new Map<string, MatmulJob>()
  const queue: Array<{ jobId: string; taskId: string }> = []
  const leases = new Map<string, ActiveLease>()
  const contributors = new Map<string, Capabilities>()

  function requireJob(id: string): MatmulJob {
    const job = jobs.get(id)
    if (job == null) throw new CoordinatorError('JOB_NOT_FOUND', `no job with id ${id}`)
    return job
  }

  function snapshot(job: MatmulJob): JobView {
    return { ...job.view, args: { ...job.view.args }, tasks: { ...job.view.tasks } }
  }

  function emit(job: MatmulJob, type: JobEvent['type']): void {
    const event = { type, job: snapshot(job) } as JobEvent
    for (const listener of job.listeners) listener(event)
  }

  function finish(job: MatmulJob, status: Exclude<JobStatus, 'running'>, error?: string): void {
    job.view.status = status
    job.view.finishedAt = clock.now()
    if (error != null) job.view.error = error
    for (const [id, lease] of leases) if (lease.jobId === job.view.id) leases.delete(id)
    job.view.tasks.leased = 0
    emit(job, status)
    job.listeners.clear()
  }

  function bBand(job: MatmulJob, col0: number, cols: number): Float32Array {
    let band = job.bBands.get(col0)
    if (band == null) {
      band = columnBand(job.b, job.view.args.k, job.view.args.n, col0, cols)
      job.bBands.set(col0, band)
    }
    return band
  }

  function release(lease: ActiveLease): void {
    leases.delete(lease.id)
    const job = jobs.get(lease.jobId)
    const task = job?.tasks.get(lease.taskId)
    if (job == null || task == null || job.view.status !== 'running' || task.state !== 'leased')
      return
    task.state = 'queued'
    job.view.tasks.leased--
    queue.push({ jobId: job.view.id, taskId: task.id })
  }

  function reclaimExpiredLeases(): number {
    const now = clock.now()
    let reclaimed = 0
    for (const lease of leases.values()) {
      if (lease.expiresAt <= now) {
        release(lease)
        reclaimed++
      }
    }
    return reclaimed
  }

  return {
    submitMatmul({ a, b, m, k, n }) {
      for (const [name, value] of Object.entries({ m, k, n })) {
        if (!Number.isInteger(value) || value < 1) {
          throw new CoordinatorError(
            'INVALID_JOB',
            `${name} must be a positive integer, got ${value}`,
          )
        }
      }
      if (a.length !== m * k) {
        throw new CoordinatorError(
          'INVALID_JOB',
          `A has ${a.length} elements, expected m·k = ${m}·${k}`,
        )
      }
      if (b.length !== k * n) {
        throw new CoordinatorError(
          'INVALID_JOB',
          `B has ${b.length} elements, expected k·n = ${k}·${n}`,
        )
      }
      const taskInputBytes = (Math.min(tileSize, m) + Math.min(tileSize, n)) * k * 4
      if (taskInputBytes > maxTaskInputBytes) {
        throw new CoordinatorError(
          'INVALID_JOB',
          `k = ${k} is too long: one ${tileSize}x${tileSize} tile would need ${taskInputBytes} input bytes, max ${maxTaskInputBytes}`,
        )
      }
      const id = crypto.randomUUID()
      const tiles = planMatmulTiles(m, n, tileSize, tileSize)
      const tasks = new Map<string, MatmulTask>()
      for (const [index, tile] of tiles.entries()) {
        const taskId = `${id.slice(0, 8)}-t${index}`
        tasks.set(taskId, { id: taskId, tile, state: 'queued', failedBy: new Set(), failures: 0 })
        queue.push({ jobId: id, taskId })
      }
      const job: MatmulJob = {
        view: {
          id,
          kernel: 'matmul',
          status: 'running',
          args: { m, k, n },
          tasks: { total: tasks.size, accepted: 0, leased: 0, rejectedResults: 0 },
          createdAt: clock.now(),
        },
        a,
        b,
        bBands: new Map(),
        tasks,
        output: new Float32Array(m * n),
        listeners: new Set(),
      }
      jobs.set(id, job)
      return snapshot(job)
    },

    getJob: (id) => snapshot(requireJob(id)),
    listJobs: () => [...jobs.values()].map(snapshot),

    jobOutput(id) {
      const job = requireJob(id)
      if (job.view.status !== 'completed') {
        throw new CoordinatorError(
          'JOB_NOT_COMPLETE',
          `job ${id} is ${job.view.status}, not completed`,
        )
      }
      return job.output
    },

    cancel(id) {
      const job = requireJob(id)
      if (job.view.status === 'running') finish(job, 'cancelled')
      return snapshot(job)
    },

    subscribe(id, listener) {
      const job = requireJob(id)
      job.listeners.add(listener)
      return () => job.listeners.delete(listener)
    },

    registerContributor(peerId, capabilities) {
      contributors.set(peerId, capabilities)
    },

    contributorLeft(peerId) {
      contributors.delete(peerId)
      for (const lease of leases.values()) if (lease.peerId === peerId) release(lease)
    },

    lease(peerId) {
      reclaimExpiredLeases()
      // Skip (and keep) entries this peer already failed; drop entries of finished jobs.
      for (let i = 0; i < queue.length; i++) {
        const entry = queue[i]!
        const job = jobs.get(entry.jobId)
        const task = job?.tasks.get(entry.taskId)
        if (
          job == null ||
          task == null ||
          job.view.status !== 'running' ||
          task.state !== 'queued'
        ) {
          queue.splice(i--, 1)
          continue
        }
        if (task.failedBy.has(peerId)) continue
        queue.splice(i, 1)
        task.state = 'leased'
        job.view.tasks.leased++
        const lease: ActiveLease = {
          id: crypto.randomUUID(),
          jobId: job.view.id,
          taskId: task.id,
          peerId,
          expiresAt: clock.now() + leaseMs,
        }
        leases.set(lease.id, lease)
        const { row0, rows, col0, cols } = task.tile
        const { k } = job.view.args
        return {
          leaseId: lease.id,
          jobId: job.view.id,
          taskId: task.id,
          kernel: 'matmul',
          args: { m: rows, k, n: cols },
          inputs: [
            { name: 'a', shape: [rows, k], data: rowBand(job.a, k, row0, rows) },
            { name: 'b', shape: [k, cols], data: bBand(job, col0, cols) },
          ],
          expiresAt: lease.expiresAt,
          expiresInMs: leaseMs,
        }
      }
      return undefined
    },

    submitResult(peerId, leaseId, output, shape) {
      const lease = leases.get(leaseId)
      if (lease == null || lease.peerId !== peerId) {
        return { outcome: 'stale', reason: 'lease unknown, expired or held by another peer' }
      }
      leases.delete(leaseId)
      const job = requireJob(lease.jobId)
      const task = job.tasks.get(lease.taskId)!
      task.state = 'queued'
      job.view.tasks.leased--
      const { rows, cols, row0, col0 } = task.tile
      const { k } = job.view.args
      const verdict =
        shape.length !== 2 || shape[0] !== rows || shape[1] !== cols
          ? {
              ok: false as const,
              reason: `output shape [${shape.join(', ')}] is not [${rows}, ${cols}]`,
            }
          : verify({
              a: rowBand(job.a, k, row0, rows),
              b: bBand(job, col0, cols),
              m: rows,
              k,
              n: cols,
              output,
            })
      if (!verdict.ok) {
        task.failures++
        task.failedBy.add(peerId)
        job.view.tasks.rejectedResults++
        if (task.failures >= maxTaskFailures) {
          finish(job, 'failed', `task ${task.id} failed verification ${task.failures} times`)
        } else {
          queue.push({ jobId: job.view.id, taskId: task.id })
          emit(job, 'progress')
        }
        return { outcome: 'rejected', reason: verdict.reason }
      }
      task.state = 'accepted'
      writeTile(job.output, job.view.args.n, task.tile, output)
      job.view.tasks.accepted++
      if (job.view.tasks.accepted === job.view.tasks.total) {
        job.bBands.clear()
        finish(job, 'completed')
      } else {
        emit(job, 'progress')
      }
      return { outcome: 'accepted' }
    },

    renewLease(peerId, leaseId) {
      const lease = leases.get(leaseId)
      if (lease == null || lease.peerId !== peerId || lease.expiresAt <= clock.now())
        return undefined
      lease.expiresAt = clock.now() + leaseMs
      return { expiresAt: lease.expiresAt, expiresInMs: leaseMs }
    },

    reclaimExpiredLeases,

    stats: () => ({
      jobs: jobs.size,
      queuedTasks: queue.length,
      activeLeases: leases.size,
      contributors: contributors.size,
    }),
  }
}
