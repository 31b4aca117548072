import { z } from 'zod'
import { TensorDtypeSchema } from './dtypes.ts'
import { CustomProgramSchema, OutputSpecSchema } from './job-spec.ts'
import { MAX_TENSOR_DIM, MAX_TENSOR_RANK, MAX_TEXT } from './limits.ts'
import { MAX_WGSL_BYTES } from './program-source.ts'

/**
 * Every message on the work protocol. A stream carries exactly one request and one
 * response, so a bad message costs only its own stream. Each message is a JSON header,
 * validated here before any use, followed by an optional binary payload whose layout the
 * header declares (see `frame.ts`).
 */

const text = z.string().max(MAX_TEXT)
const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'ids are 1-64 characters of [A-Za-z0-9_-]')
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lower-case hex sha-256')
const count = z.number().int().min(0).max(MAX_TENSOR_DIM)

export const DtypeSchema = z.enum(['float32'])
export type Dtype = z.infer<typeof DtypeSchema>

/** Where one tensor lives inside a message payload. */
export const TensorSlotSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/),
  dtype: DtypeSchema,
  shape: z.array(count).max(MAX_TENSOR_RANK),
  byteOffset: z.number().int().min(0),
  byteLength: z.number().int().min(0),
})
export type TensorSlot = z.infer<typeof TensorSlotSchema>

/** Where one buffer of a custom kernel lives inside a message payload: any job dtype, raw bytes. */
export const BufferSlotSchema = z.object({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,31}$/),
  dtype: TensorDtypeSchema,
  shape: z.array(count).max(MAX_TENSOR_RANK),
  byteOffset: z.number().int().min(0),
  byteLength: z.number().int().min(0),
})
export type BufferSlot = z.infer<typeof BufferSlotSchema>

/** What a contributor's GPU can do, sent once per connection. */
export const CapabilitiesSchema = z.object({
  adapter: z.object({
    vendor: text,
    architecture: text,
    device: text,
    description: text,
  }),
  features: z.array(z.string().max(64)).max(64),
  limits: z.record(z.string().max(64), z.number()).refine((r) => Object.keys(r).length <= 64, {
    message: 'at most 64 limits',
  }),
  kernels: z.array(z.string().max(64)).max(64),
  agent: text,
})
export type Capabilities = z.infer<typeof CapabilitiesSchema>

export const MatmulArgsSchema = z.object({ m: count, k: count, n: count })
export type MatmulArgs = z.infer<typeof MatmulArgsSchema>

// Requests (contributor -> relay)

/** A wallet proven by an EIP-712 signature over the peer id and a timestamp (`wallet-proof.ts`). */
export const WalletProofSchema = z.object({
  address: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 0x-prefixed 20-byte address'),
  /** Unix seconds when it was signed. */
  timestamp: z
    .number()
    .int()
    .min(0)
    .max(2 ** 40),
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'expected a 65-byte hex signature'),
})
export type WalletProof = z.infer<typeof WalletProofSchema>

/** A small f32 matmul timed by the contributor before it asks for work. */
export const BenchmarkSchema = z.object({
  gflops: z.number().positive().max(1e6),
})
export type Benchmark = z.infer<typeof BenchmarkSchema>

export const HelloSchema = z.object({
  type: z.literal('hello'),
  capabilities: CapabilitiesSchema,
  benchmark: BenchmarkSchema.optional(),
  wallet: WalletProofSchema.optional(),
})
export const LeaseRequestSchema = z.object({ type: z.literal('lease-request') })
/** Keeps a long task's lease alive; send it well before `expiresInMs` runs out. */
export const LeaseRenewSchema = z.object({ type: z.literal('lease-renew'), leaseId: id })
/**
 * Hands a lease back before its task is done (the contributor is stopping: a second Ctrl-C,
 * a drain that ran out of time, a closed tab), so the task is leased again at once instead
 * of waiting for the lease to expire. Not a fault and not a task error.
 */
export const LeaseReleaseSchema = z.object({ type: z.literal('lease-release'), leaseId: id })
export const TaskResultSchema = z.object({
  type: z.literal('result'),
  leaseId: id,
  output: TensorSlotSchema,
  sha256: sha256Hex,
  elapsedMs: z.number().min(0).max(86_400_000),
})

/** The outputs of a custom-kernel task, one slot per declared output, in order. */
export const CustomResultSchema = z.object({
  type: z.literal('custom-result'),
  leaseId: id,
  outputs: z.array(BufferSlotSchema).min(1).max(8),
  /** sha-256 of the whole payload. */
  sha256: sha256Hex,
  elapsedMs: z.number().min(0).max(86_400_000),
})

/**
 * The contributor could not run the task (the WGSL does not compile, the device was lost,
 * the limits are too small). Not a fault: the task goes to another contributor, and a job
 * whose task fails the same way twice fails with this message.
 */
export const TaskErrorSchema = z.object({
  type: z.literal('task-error'),
  leaseId: id,
  /** The error's name or code, e.g. `KernelCompileError`. */
  code: z.string().max(64),
  message: text,
})

export const WorkRequestSchema = z.discriminatedUnion('type', [
  HelloSchema,
  LeaseRequestSchema,
  LeaseRenewSchema,
  LeaseReleaseSchema,
  TaskResultSchema,
  CustomResultSchema,
  TaskErrorSchema,
])
export type Hello = z.infer<typeof HelloSchema>
export type LeaseRequest = z.infer<typeof LeaseRequestSchema>
export type LeaseRenew = z.infer<typeof LeaseRenewSchema>
export type LeaseRelease = z.infer<typeof LeaseReleaseSchema>
export type TaskResult = z.infer<typeof TaskResultSchema>
export type CustomResult = z.infer<typeof CustomResultSchema>
export type TaskError = z.infer<typeof TaskErrorSchema>
export type WorkRequest = z.infer<typeof WorkRequestSchema>

// Responses (relay -> contributor)

export const HelloAckSchema = z.object({
  type: z.literal('hello-ack'),
  peerId: z.string().max(128),
})
export const LeaseSchema = z.object({
  type: z.literal('lease'),
  leaseId: id,
  jobId: id,
  taskId: id,
  kernel: z.literal('matmul'),
  args: MatmulArgsSchema,
  inputs: z.array(TensorSlotSchema).max(16),
  expiresInMs: z.number().int().min(0),
})
/**
 * A custom lease's program: the job's `CustomProgram` with its WGSL moved out of the header
 * into the payload (`source` says where, UTF-8; see `program-source.ts`), so the header's
 * size does not depend on the source's length or its JSON escaping.
 */
export const LeaseProgramSchema = CustomProgramSchema.omit({ wgsl: true }).extend({
  source: z.object({
    byteOffset: z.number().int().min(0),
    byteLength: z.number().int().min(1).max(MAX_WGSL_BYTES),
  }),
})
export type LeaseProgram = z.infer<typeof LeaseProgramSchema>

/**
 * A task of a researcher's WGSL program, offered only to contributors whose hello lists
 * `custom` among their kernels. Inputs, then the program source, are in the payload;
 * `params` is the uniform block.
 */
export const CustomLeaseSchema = z.object({
  type: z.literal('custom-lease'),
  leaseId: id,
  jobId: id,
  taskId: id,
  program: LeaseProgramSchema,
  inputs: z.array(BufferSlotSchema).max(8),
  outputs: z.array(OutputSpecSchema).min(1).max(8),
  workgroups: z.tuple([count, count, count]),
  /** Uniform bytes, base64. */
  params: z.string().max(8192).optional(),
  expiresInMs: z.number().int().min(0),
})
export const NoWorkSchema = z.object({
  type: z.literal('no-work'),
  retryAfterMs: z.number().int().min(0).max(600_000),
})
export const ResultAckSchema = z.object({
  type: z.literal('result-ack'),
  leaseId: id,
  /** `pending`: it matches so far but waits for agreeing replicas before it is accepted. */
  outcome: z.enum(['accepted', 'pending', 'rejected', 'stale']),
  reason: text.optional(),
})
/** Answer to `lease-renew`: `renewed` with the new time left, or `stale` when the lease is over. */
export const LeaseRenewedSchema = z.object({
  type: z.literal('lease-renewed'),
  leaseId: id,
  outcome: z.enum(['renewed', 'stale']),
  expiresInMs: z.number().int().min(0),
})
/** Answer to `lease-release`: `released`, or `stale` when this peer held no such live lease. */
export const LeaseReleasedSchema = z.object({
  type: z.literal('lease-released'),
  leaseId: id,
  outcome: z.enum(['released', 'stale']),
})
export const ErrorMessageSchema = z.object({
  type: z.literal('error'),
  code: z.string().max(64),
  message: text,
})

export const WorkResponseSchema = z.discriminatedUnion('type', [
  HelloAckSchema,
  LeaseSchema,
  CustomLeaseSchema,
  NoWorkSchema,
  ResultAckSchema,
  LeaseRenewedSchema,
  LeaseReleasedSchema,
  ErrorMessageSchema,
])
export type HelloAck = z.infer<typeof HelloAckSchema>
export type Lease = z.infer<typeof LeaseSchema>
export type CustomLease = z.infer<typeof CustomLeaseSchema>
export type NoWork = z.infer<typeof NoWorkSchema>
export type ResultAck = z.infer<typeof ResultAckSchema>
export type LeaseRenewed = z.infer<typeof LeaseRenewedSchema>
export type LeaseReleased = z.infer<typeof LeaseReleasedSchema>
export type ErrorMessage = z.infer<typeof ErrorMessageSchema>
export type WorkResponse = z.infer<typeof WorkResponseSchema>
