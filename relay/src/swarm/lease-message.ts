import { appendProgramSource, type Lease, type Verdict } from '@tabswarm/protocol'
import type { LeaseGrant } from '../coordinator/coordinator-api.ts'

/**
 * A granted lease as it goes on the wire: the header, and a payload holding a `wgsl`
 * program's source and nothing else (inputs are fetched by hash; matmul's and a decoder's
 * are empty). The
 * header carries the job's facts and, when any are due, verdicts of earlier results.
 */
export function leaseMessage(
  grant: LeaseGrant,
  verdicts: readonly Verdict[] = [],
): { lease: Lease; payload: Uint8Array } {
  const { program } = grant
  const common = {
    type: 'lease' as const,
    leaseId: grant.leaseId,
    jobId: grant.jobId,
    taskId: grant.taskId,
    job: grant.job,
    ...(verdicts.length > 0 ? { verdicts: [...verdicts] } : {}),
    inputs: grant.inputs,
    outputs: grant.outputs,
    ...(grant.workgroups != null ? { workgroups: grant.workgroups } : {}),
    ...(grant.params != null ? { params: Buffer.from(grant.params).toString('base64') } : {}),
    expiresInMs: grant.expiresInMs,
  }
  if (program.kind === 'matmul') {
    const { m, k, n } = program
    return {
      lease: { ...common, program: { kind: 'matmul', m, k, n } },
      payload: new Uint8Array(0),
    }
  }
  // A decoder program is all header: its weights are inputs, fetched by hash like any.
  if (program.kind === 'decoder-stage' || program.kind === 'decoder-generate')
    return { lease: { ...common, program }, payload: new Uint8Array(0) }
  const { wgsl, kind: _kind, ...rest } = program
  const { payload, source } = appendProgramSource(new Uint8Array(0), wgsl)
  return { lease: { ...common, program: { kind: 'wgsl', ...rest, source } }, payload }
}
