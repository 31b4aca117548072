import type { LeaseGrant } from '../coordinator-api.ts'
import { type JobRuntime, type TaskRuntime, tileOperands } from '../jobs/job-runtime.ts'
import type { Lease } from './lease-table.ts'

/**
 * What a contributor is sent for a lease: the task's inputs (matmul: its A and B bands;
 * custom: its input bytes, program, outputs, dispatch and uniform bytes) and the lease's
 * terms.
 */
export function leaseGrant(
  job: JobRuntime,
  task: TaskRuntime,
  lease: Lease,
  expiresInMs: number,
): LeaseGrant {
  const base = {
    leaseId: lease.id,
    jobId: job.row.id,
    taskId: lease.taskId,
    expiresAt: lease.expiresAt,
    expiresInMs,
  }
  const inputs = job.inputs
  if (inputs.kind === 'matmul') {
    const { a, b, m, k, n } = tileOperands(inputs, task.index)
    return {
      ...base,
      kernel: 'matmul',
      args: { m, k, n },
      inputs: [
        { name: 'a', shape: [m, k], dtype: 'float32', data: a },
        { name: 'b', shape: [k, n], dtype: 'float32', data: b },
      ],
    }
  }
  const spec = inputs.spec.tasks[task.index]!
  const program = inputs.spec.program
  return {
    ...base,
    kernel: 'custom',
    inputs: spec.inputs.map((ref, j) => ({
      name: program.inputs[j]!.name,
      shape: ref.shape,
      dtype: ref.dtype,
      data: inputs.blobs.get(ref.blob)!,
    })),
    custom: {
      program,
      outputs: spec.outputs,
      workgroups: spec.workgroups,
      ...(spec.params != null
        ? { params: Uint8Array.from(atob(spec.params), (ch) => ch.charCodeAt(0)) }
        : {}),
    },
  }
}
