import {
  CustomProgramSchema,
  InputRefSchema,
  LeaseJobSchema,
  TensorDtypeSchema,
} from '@tabswarm/protocol'
import { z } from 'zod'
import type { LeaseGrant } from '../coordinator/coordinator-api.ts'
import type { TaskRequirement } from '../coordinator/leases/capability-match.ts'
import type { OfferedTask } from '../coordinator/leases/task-offering.ts'

/**
 * An offered task as it is stored in `task_offers.grant` (JSON): the owner's lease grant,
 * less its timing (the claiming relay times it from the offer's row), and what a device
 * needs to run it. Read back through a schema: the database is shared by every relay of
 * the cluster, and a row one of them wrote wrong must fail here, by name, not in a tab.
 */
const id = z.string().min(1).max(200)
const dims = z
  .number()
  .int()
  .min(1)
  .max(2 ** 31)
const count = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31)

const OfferedProgramSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('matmul'), m: dims, k: dims, n: dims }),
  CustomProgramSchema.extend({ kind: z.literal('wgsl') }).strict(),
])

const TaskRequirementSchema = z.strictObject({
  kernel: z.enum(['matmul', 'custom']),
  largestBinding: count,
  storageBindings: count,
  taskBytes: z.number().int().min(0),
  uniformBytes: count,
  workgroupsPerDimension: count,
  features: z.array(z.string().max(64)).max(32),
})

const OfferedGrantSchema = z.strictObject({
  leaseId: id,
  jobId: id,
  taskId: id,
  job: LeaseJobSchema,
  program: OfferedProgramSchema,
  inputs: z.array(InputRefSchema).max(64),
  outputs: z
    .array(
      z.strictObject({
        name: z.string().max(64),
        shape: z.array(count).max(8),
        dtype: TensorDtypeSchema,
      }),
    )
    .min(1)
    .max(8),
  workgroups: z.tuple([count, count, count]).optional(),
  /** Uniform bytes, base64. */
  params: z.string().max(16_384).optional(),
  need: TaskRequirementSchema,
})

/** An offered task read back: the grant (its timing set by the claimer) and its needs. */
export interface DecodedOffer {
  grant: Omit<LeaseGrant, 'expiresAt' | 'expiresInMs'>
  need: TaskRequirement
}

/** The task kinds offers are filed under, which a claimer asks for by its contributors' kernels. */
export type OfferKind = TaskRequirement['kernel']

/** `task_offers.grant` for an offered task. */
export function encodeOfferedGrant({ grant, need }: OfferedTask): unknown {
  const { expiresAt: _at, expiresInMs: _in, params, ...rest } = grant
  return {
    ...rest,
    ...(params != null ? { params: Buffer.from(params).toString('base64') } : {}),
    need,
  }
}

/** Reads `task_offers.grant` back; throws naming what is wrong with it. */
export function decodeOfferedGrant(json: unknown): DecodedOffer {
  const parsed = OfferedGrantSchema.safeParse(json)
  if (!parsed.success)
    throw new TypeError(
      `an offered task's grant is malformed: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`,
    )
  const { need, params, ...grant } = parsed.data
  return {
    grant: {
      ...grant,
      ...(params != null ? { params: new Uint8Array(Buffer.from(params, 'base64')) } : {}),
    } as DecodedOffer['grant'],
    need: need as TaskRequirement,
  }
}
