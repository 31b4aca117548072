import type { MatmulArgs } from '../protocol/index.ts'
import type { MatmulTile } from './matmul-tiling.ts'

export type JobStatus = 'running' | 'completed' | 'failed' | 'cancelled'

/** What the HTTP API and the SDK see of a job. Plain data, safe to serialise. */
export interface JobView {
  id: string
  kernel: 'matmul'
  status: JobStatus
  args: MatmulArgs
  tasks: { total: number; accepted: number; leased: number; rejectedResults: number }
  createdAt: number
  finishedAt?: number
  error?: string
}

export type JobEvent =
  | { type: 'progress'; job: JobView }
  | { type: 'completed'; job: JobView }
  | { type: 'failed'; job: JobView }
  | { type: 'cancelled'; job: JobView }

/** A unit of work handed to one contributor under a lease. */
export interface LeaseGrant {
  leaseId: string
  jobId: string
  taskId: string
  kernel: 'matmul'
  args: MatmulArgs
  inputs: Array<{ name: 'a' | 'b'; shape: number[]; data: Float32Array }>
  /** When the lease ends, on the coordinator's clock, and how long that is from now. */
  expiresAt: number
  expiresInMs: number
}

export interface ResultOutcome {
  outcome: 'accepted' | 'rejected' | 'stale'
  reason?: string
}

export interface MatmulTask {
  id: string
  tile: MatmulTile
  state: 'queued' | 'leased' | 'accepted'
  /** Peers whose result for this task failed verification: never offered it again. */
  failedBy: Set<string>
  failures: number
}
