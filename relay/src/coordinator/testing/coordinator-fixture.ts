import { rmSync } from 'node:fs'
import type { Capabilities, JobSpec } from '@tabswarm/protocol'
import { matmulReference } from '@tabswarm/worker-kernels'
import type { BlobStore } from '../../blobs/blob-store.ts'
import { type Coordinator, type CoordinatorOptions, createCoordinator } from '../coordinator.ts'
import type { LeaseGrant } from '../coordinator-api.ts'
import { float32Output, matmulOperands } from '../in-process-inputs.ts'

/**
 * The fixture of the coordinator's tests, which drive a whole coordinator from
 * `createCoordinator`: a contributor's capabilities, a fake clock, matmul operands and jobs,
 * and an honest contributor's answer to a matmul lease.
 */

/** A device that runs both kernels and states no limits. */
export const caps: Capabilities = {
  adapter: { vendor: 'test', architecture: 'test', device: '', description: '' },
  features: [],
  limits: {},
  kernels: ['matmul', 'custom'],
  agent: 'test',
}

/** A clock that moves only when told to. */
export function fakeClock(start = 1_000) {
  let now = start
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms
    },
  }
}

/** An m×k and a k×n matrix of small integers, so that any order of summing is exact. */
export function matrices(m: number, k: number, n: number) {
  const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 11) - 5)
  const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 3) % 7) - 3)
  return { a, b, m, k, n }
}

/** A matmul job spec of `matrices(m, k, n)`, its operands uploaded to `blobs`. */
export function blobSpec(
  blobs: BlobStore,
  m: number,
  k: number,
  n: number,
  extra: Partial<JobSpec> = {},
) {
  const { a, b } = matrices(m, k, n)
  const put = (x: Float32Array) => blobs.put(new Uint8Array(x.buffer)).hash
  return {
    kernel: 'matmul',
    inputs: {
      a: { blob: put(a), dtype: 'float32', shape: [m, k] },
      b: { blob: put(b), dtype: 'float32', shape: [k, n] },
    },
    ...extra,
  } as JobSpec
}

/** The right product of a matmul lease, from its inputs read by hash. */
export function honest(c: Coordinator, grant: LeaseGrant): Float32Array {
  const { a, b, m, k, n } = matmulOperands(c, grant)
  return matmulReference(a, b, m, k, n)
}

/** A matmul lease's tile: its m, k and n. */
export function tileOf(grant: LeaseGrant) {
  if (grant.program.kind !== 'matmul') throw new Error(`lease ${grant.leaseId} is not matmul`)
  return grant.program
}

/** Submits the right product of a matmul lease, as an honest contributor would. */
export function submitHonest(c: Coordinator, peer: string, grant: LeaseGrant) {
  return c.submitResult(peer, grant.leaseId, [
    float32Output(honest(c, grant), [tileOf(grant).m, tileOf(grant).n]),
  ])
}

/** Data directories a test made; `afterEach(removeDirs)` deletes them. */
export const dirs: string[] = []

export function removeDirs() {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/** A coordinator that grants an account 10^9 credits the first time it submits: any job is paid. */
export function make(options: CoordinatorOptions = {}) {
  return createCoordinator({ welcomeCredits: 1_000_000_000n, ...options })
}
