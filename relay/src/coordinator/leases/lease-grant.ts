import { type InputRef, type LeaseJob, MAX_INPUT_PROVIDERS } from '@tabswarm/protocol'
import type { LeaseGrant } from '../coordinator-api.ts'
import { inferenceOutputs, inferenceProgram } from '../inference/inference-lease.ts'
import type { JobParts } from '../jobs/job-parts.ts'
import type { JobRuntime, TaskRuntime } from '../jobs/job-runtime.ts'
import { taskInputRefs } from '../jobs/task-inputs.ts'
import type { Lease } from './lease-table.ts'

/**
 * The job's facts a contributor's page shows beside the task: the researcher's name for it
 * (a label, no data), its kernel, and its progress as of this lease. Read from the job's
 * row: no scan, whatever the job's size.
 */
export function leaseJob(job: JobRuntime): LeaseJob {
  const { row } = job
  return {
    ...(row.spec.name != null ? { name: row.spec.name } : {}),
    kernel: row.kernel,
    tasksAccepted: row.acceptedTasks,
    tasksTotal: row.totalTasks,
  }
}

/** Who may serve an input to the contributor `peerId`; none when provider hints are off. */
export type ProviderLookup = (sha256: string, peerId: string, limit: number) => string[]

/**
 * What a contributor is sent for a lease, one shape for every kernel: the program (matmul's
 * dimensions, or a custom job's WGSL program), its inputs by content address with up to
 * `MAX_INPUT_PROVIDERS` peers that hold them (never the requester), the outputs it must
 * write, a custom task's dispatch and uniform bytes, and the lease's terms.
 */
export function leaseGrant(
  job: JobRuntime,
  task: TaskRuntime,
  lease: Lease,
  expiresInMs: number,
  parts: JobParts,
  providers?: ProviderLookup,
): LeaseGrant {
  const refs = taskInputRefs(job.row.id, job.inputs, task.index, parts)
  // Providers the task names itself (the peer that produced a stage's activations) come
  // first, then those that announced holding the bytes; none when provider hints are off.
  const inputs: InputRef[] = refs.map((ref) => {
    const { providers: named = [], ...plain } = ref
    if (providers == null) return plain
    const peers = [
      ...new Set([
        ...named.filter((p) => p !== lease.peerId),
        ...providers(ref.sha256, lease.peerId, MAX_INPUT_PROVIDERS),
      ]),
    ].slice(0, MAX_INPUT_PROVIDERS)
    return peers.length > 0 ? { ...plain, providers: peers } : plain
  })
  const base = {
    leaseId: lease.id,
    jobId: job.row.id,
    taskId: lease.taskId,
    job: leaseJob(job),
    inputs,
    expiresAt: lease.expiresAt,
    expiresInMs,
  }
  const source = job.inputs
  if (source.kind === 'matmul') {
    const tile = source.tiles[task.index]!
    return {
      ...base,
      program: { kind: 'matmul', m: tile.rows, k: source.k, n: tile.cols },
      outputs: [{ name: 'c', shape: [tile.rows, tile.cols], dtype: 'float32' }],
    }
  }
  if (source.kind === 'inference')
    return {
      ...base,
      program: inferenceProgram(source, task.index),
      outputs: inferenceOutputs(source, task.index),
    }
  const spec = source.spec.tasks[task.index]!
  const program = source.spec.program
  return {
    ...base,
    program: { kind: 'wgsl', ...program },
    outputs: spec.outputs.map((out, j) => ({
      name: program.outputs[j]!.name,
      shape: out.shape,
      dtype: out.dtype,
    })),
    workgroups: spec.workgroups,
    ...(spec.params != null
      ? { params: Uint8Array.from(atob(spec.params), (ch) => ch.charCodeAt(0)) }
      : {}),
  }
}
