import { alignedViewAs } from '@tabswarm/protocol'
import type { LeaseGrant, ResultTensor, WorkGateway } from './coordinator-api.ts'
import { CoordinatorError } from './coordinator-error.ts'
import { tensorBytes } from './jobs/tensor-bytes.ts'

/**
 * How a contributor in the coordinator's own process (a test, a benchmark, a simulated
 * swarm) reads a lease's inputs: straight from the coordinator by hash, where a real
 * contributor fetches them over the blob protocol (peers first, then the relay).
 */

/** The bytes of each input of `grant`, in order. Throws when one is not held (the job ended). */
export function grantInputs(
  gateway: Pick<WorkGateway, 'inputBytes'>,
  grant: Pick<LeaseGrant, 'inputs' | 'leaseId'>,
): Uint8Array[] {
  return grant.inputs.map((ref) => {
    const bytes = gateway.inputBytes(ref.sha256)
    if (bytes == null)
      throw new CoordinatorError(
        'BLOB_NOT_FOUND',
        `lease ${grant.leaseId}: input ${ref.name} (${ref.sha256.slice(0, 12)}…) is held by no live job nor the blob store`,
      )
    return bytes
  })
}

/** A matmul lease's operands: A's row band (m×k) and B's column band (k×n), float32. */
export function matmulOperands(
  gateway: Pick<WorkGateway, 'inputBytes'>,
  grant: LeaseGrant,
): { a: Float32Array; b: Float32Array; m: number; k: number; n: number } {
  const { program } = grant
  if (program.kind !== 'matmul')
    throw new CoordinatorError(
      'INVALID_JOB',
      `lease ${grant.leaseId} runs ${program.kind}, not matmul`,
    )
  const [a, b] = grantInputs(gateway, grant)
  return {
    a: alignedViewAs('float32', a!),
    b: alignedViewAs('float32', b!),
    m: program.m,
    k: program.k,
    n: program.n,
  }
}

/** A float32 output as `submitResult` takes it. */
export function float32Output(data: Float32Array, shape: readonly number[]): ResultTensor {
  return { shape, dtype: 'float32', bytes: tensorBytes(data) }
}
