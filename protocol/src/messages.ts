import { z } from 'zod'
import { TensorDtypeSchema } from './dtypes.ts'
import { MAX_STAGE_TENSORS, MAX_TOP_LOGITS } from './inference/inference-limits.ts'
import { SamplingSpecSchema } from './inference/sampling-spec.ts'
import { CustomProgramSchema, OutputSpecSchema } from './job-spec.ts'
import { MAX_TENSOR_DIM, MAX_TENSOR_RANK, MAX_TEXT } from './limits.ts'
import { DecoderConfigSchema } from './model/decoder-config.ts'
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

/**
 * Where one buffer lives inside a message payload: raw bytes of `shape`'s elements of
 * `dtype`, row-major. Every kernel's outputs travel in these, built-in or custom.
 */
export const BufferSlotSchema = z.object({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,31}$/),
  dtype: TensorDtypeSchema,
  shape: z.array(count).max(MAX_TENSOR_RANK),
  byteOffset: z.number().int().min(0),
  byteLength: z.number().int().min(0),
})
export type BufferSlot = z.infer<typeof BufferSlotSchema>

/** Most peers a lease names as holders of one input. */
export const MAX_INPUT_PROVIDERS = 8

/**
 * Most inputs one lease names: a decoder task's weight tensors (`w0`, `w1`, …) and its
 * activations, tokens and replay prefix.
 */
export const MAX_LEASE_INPUTS = MAX_STAGE_TENSORS + 4

/** Most content hashes a contributor announces holding in one lease request. */
export const MAX_HELD_BLOBS = 256

/**
 * One input of a task, named by content: the sha-256 of exactly the bytes the task reads.
 * The contributor fetches them from `providers` (peers over direct WebRTC) first and from
 * the relay's blob protocol as the fallback, and checks the hash either way: a peer that
 * lies costs a fallback, never a wrong input. Not inside the lease: job data never rides
 * the work protocol, so the relay sends each byte once per holder at most, and peers the rest.
 */
export const InputRefSchema = z.object({
  /** The program's binding name: `a` and `b` for matmul. */
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,31}$/),
  dtype: TensorDtypeSchema,
  shape: z.array(count).max(MAX_TENSOR_RANK),
  /** sha-256 of the bytes, hex: what every source is checked against. */
  sha256: sha256Hex,
  byteLength: z.number().int().min(0),
  /**
   * Set when the bytes are a range of a larger uploaded blob (a matmul row band of A):
   * which blob, and where in it. The relay serves the range under `sha256` either way.
   */
  range: z.object({ blob: sha256Hex, byteOffset: z.number().int().min(0) }).optional(),
  /** Peer ids that announced holding these bytes, tried first, in order. */
  providers: z.array(z.string().max(128)).max(MAX_INPUT_PROVIDERS).optional(),
  /**
   * Fetched only if the program asks for it, not before the task starts: a decoder stage's
   * replay `prefix`, needed only when the contributor's KV cache for the sequence misses.
   */
  lazy: z.literal(true).optional(),
})
export type InputRef = z.infer<typeof InputRefSchema>

const bindings = z
  .array(
    z.object({ name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,31}$/), dtype: TensorDtypeSchema }),
  )
  .max(8)

/**
 * What a lease runs. Matmul is a built-in program over the same buffers as any other:
 * inputs `a` (m×k) and `b` (k×n), output `c` (m×n), all float32. A `wgsl` program is a
 * researcher's: its source is UTF-8 in the lease's payload (`source` says where; see
 * `program-source.ts`), so the header's size does not depend on the source's length.
 */
export const TaskProgramSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('matmul'), m: count, k: count, n: count }),
  z.object({
    kind: z.literal('wgsl'),
    source: z.object({
      byteOffset: z.number().int().min(0),
      byteLength: z.number().int().min(1).max(MAX_WGSL_BYTES),
    }),
    entryPoint: CustomProgramSchema.shape.entryPoint,
    inputs: bindings,
    outputs: bindings.min(1),
  }),
  /**
   * One pipeline stage of one step of one sequence: layers `fromLayer … toLayer − 1` over
   * `rows` new positions starting at `start`.
   *
   * Inputs: `tokens` (int32 `[rows]`) when the stage starts at layer 0, else `x` (float32
   * `[rows, hiddenSize]`, the previous stage's `hidden`); when `start > 0`, a lazy `prefix`
   * (int32 `[start]` or float32 `[start, hiddenSize]`: this stage's inputs at positions
   * `0 … start − 1`) to rebuild the KV cache by replaying it when the contributor holds no
   * cache of `sequence` at this stage up to `start`; then the weights `w0 … wN`, in
   * `tensors` order.
   *
   * Outputs: `hidden` (float32 `[rows, hiddenSize]`) when the stage does not end the model;
   * else the `topLogits` largest logits of the last row, largest first (ties to the lower
   * id): `ids` (int32 `[topLogits]`) and `logits` (float32 `[topLogits]`).
   */
  z.object({
    kind: z.literal('decoder-stage'),
    config: DecoderConfigSchema,
    fromLayer: count,
    toLayer: count,
    /** The KV cache's key, with the job id: the same sequence at the same stage reuses it. */
    sequence: id,
    /** Position of the first new row: the positions this stage has seen before. */
    start: count,
    rows: count.min(1),
    topLogits: z.number().int().min(1).max(MAX_TOP_LOGITS),
    /** Canonical tensor name (`decoderTensorNames`) of each weight input `w0`, `w1`, …. */
    tensors: z.array(z.string().max(128)).max(MAX_STAGE_TENSORS),
  }),
  /**
   * Batch mode: a batch of prompts through the whole model, generating up to
   * `maxNewTokens` each (prompt `i` samples with seed `sampling.seed + firstPrompt + i`).
   *
   * Inputs: `tokens` (int32, the prompts end to end), `lengths` (int32 `[batch]`), then the
   * weights `w0 … wN` in `tensors` order.
   *
   * Outputs: `tokens` (int32 `[batch, maxNewTokens]`, −1 after a sequence stops; a stop
   * token is not written), and for every generated position the `topLogits` largest
   * logits, largest first: `ids` (int32 `[batch, maxNewTokens, topLogits]`) and `logits`
   * (float32, same shape), for the verifier to compare by recomputing.
   */
  z.object({
    kind: z.literal('decoder-generate'),
    config: DecoderConfigSchema,
    firstPrompt: count,
    maxNewTokens: count.min(1),
    sampling: SamplingSpecSchema,
    stop: z.array(z.number().int().min(0)).max(16),
    topLogits: z.number().int().min(1).max(MAX_TOP_LOGITS),
    tensors: z.array(z.string().max(128)).max(MAX_STAGE_TENSORS),
  }),
])
export type TaskProgram = z.infer<typeof TaskProgramSchema>
export type DecoderStageProgram = Extract<TaskProgram, { kind: 'decoder-stage' }>
export type DecoderGenerateProgram = Extract<TaskProgram, { kind: 'decoder-generate' }>

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
  /**
   * The most bytes one task's buffers (inputs and outputs together) may take on this device:
   * a contributor's memory cap. The coordinator leases no task above it. WebGPU's limits
   * bound one buffer each, not a task's total. Absent: no cap beyond `limits`.
   */
  memoryCapBytes: z
    .number()
    .int()
    .min(0)
    .max(2 ** 48)
    .optional(),
})
export type Capabilities = z.infer<typeof CapabilitiesSchema>

// Requests (contributor -> relay)

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 0x-prefixed 20-byte address')

/**
 * A wallet bound to the sender's peer id by an EIP-712 signature over peer id, site, nonce
 * and expiry (`wallet-proof.ts`).
 */
export const WalletProofSchema = z.object({
  address,
  /** The embedding site's payout address; the zero address when none. */
  site: address,
  nonce: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'expected a 0x-prefixed 32-byte nonce'),
  /** Unix seconds after which the binding no longer holds. */
  expiry: z
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
/**
 * Asks for work. `holds` lists content hashes the contributor can serve to peers (its
 * blob cache, newest first): the coordinator names it as a provider of those inputs in
 * other contributors' leases.
 */
export const LeaseRequestSchema = z.object({
  type: z.literal('lease-request'),
  holds: z.array(sha256Hex).max(MAX_HELD_BLOBS).optional(),
})
/** Keeps a long task's lease alive; send it well before `expiresInMs` runs out. */
export const LeaseRenewSchema = z.object({ type: z.literal('lease-renew'), leaseId: id })
/**
 * Hands a lease back before its task is done (the contributor is stopping: a second Ctrl-C,
 * a drain that ran out of time, a closed tab), so the task is leased again at once instead
 * of waiting for the lease to expire. Not a fault and not a task error.
 */
export const LeaseReleaseSchema = z.object({ type: z.literal('lease-release'), leaseId: id })
/** A task's outputs, one slot per output the lease declared, in order, for every kernel. */
export const TaskResultSchema = z.object({
  type: z.literal('result'),
  leaseId: id,
  outputs: z.array(BufferSlotSchema).min(1).max(8),
  /** sha-256 of the whole payload. */
  sha256: sha256Hex,
  elapsedMs: z.number().min(0).max(86_400_000),
  /**
   * The sender's libp2p key's signature of `resultSigningBytes(taskId, sha256)`, base64:
   * required for decoder tasks, so a stage's activations are attributable to who made them.
   */
  signature: z
    .string()
    .max(172)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'signature must be base64')
    .optional(),
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
  TaskErrorSchema,
])
export type Hello = z.infer<typeof HelloSchema>
export type LeaseRequest = z.infer<typeof LeaseRequestSchema>
export type LeaseRenew = z.infer<typeof LeaseRenewSchema>
export type LeaseRelease = z.infer<typeof LeaseReleaseSchema>
export type TaskResult = z.infer<typeof TaskResultSchema>
export type TaskError = z.infer<typeof TaskErrorSchema>
export type WorkRequest = z.infer<typeof WorkRequestSchema>

// Responses (relay -> contributor)

export const HelloAckSchema = z.object({
  type: z.literal('hello-ack'),
  peerId: z.string().max(128),
})
/**
 * A task, for every kernel: the program, its inputs by content address (fetched apart from
 * this message; see `InputRefSchema`), the outputs it must write, and the lease's terms.
 * The payload holds the `wgsl` program's source and nothing else.
 */
/**
 * A result this contributor was told was `pending` has been decided since (its replicas
 * agreed, or it was rejected): the relay says so on its next answer, so a contributor's
 * "awaiting agreement" count falls as well as rises.
 */
export const VerdictSchema = z.object({
  taskId: id,
  outcome: z.enum(['accepted', 'rejected']),
})
export type Verdict = z.infer<typeof VerdictSchema>
/** Most verdicts one answer carries; the rest come with the next. */
export const MAX_VERDICTS_PER_MESSAGE = 64
const verdicts = z.array(VerdictSchema).max(MAX_VERDICTS_PER_MESSAGE).optional()

/** What a lease's job is, for the contributor's page: plain facts, no data. */
export const LeaseJobSchema = z.object({
  /** The researcher's name for the job, if it has one. */
  name: z.string().max(128).optional(),
  kernel: z.enum(['matmul', 'custom', 'inference']),
  tasksAccepted: z.number().int().min(0),
  tasksTotal: z.number().int().min(0),
})
export type LeaseJob = z.infer<typeof LeaseJobSchema>

export const LeaseSchema = z.object({
  type: z.literal('lease'),
  leaseId: id,
  jobId: id,
  taskId: id,
  job: LeaseJobSchema.optional(),
  verdicts,
  program: TaskProgramSchema,
  inputs: z.array(InputRefSchema).max(MAX_LEASE_INPUTS),
  /** One per program output, in order. */
  outputs: z
    .array(OutputSpecSchema.extend({ name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,31}$/) }))
    .min(1)
    .max(8),
  /** Workgroups to dispatch (`wgsl` programs; the built-ins plan their own). */
  workgroups: z.tuple([count, count, count]).optional(),
  /** Uniform bytes of a `wgsl` program, base64. */
  params: z.string().max(8192).optional(),
  expiresInMs: z.number().int().min(0),
})
export const NoWorkSchema = z.object({
  type: z.literal('no-work'),
  retryAfterMs: z.number().int().min(0).max(600_000),
  verdicts,
})
export const ResultAckSchema = z.object({
  type: z.literal('result-ack'),
  leaseId: id,
  /** `pending`: it matches so far but waits for agreeing replicas before it is accepted. */
  outcome: z.enum(['accepted', 'pending', 'rejected', 'stale']),
  reason: text.optional(),
  verdicts,
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
  NoWorkSchema,
  ResultAckSchema,
  LeaseRenewedSchema,
  LeaseReleasedSchema,
  ErrorMessageSchema,
])
export type HelloAck = z.infer<typeof HelloAckSchema>
export type Lease = z.infer<typeof LeaseSchema>
export type NoWork = z.infer<typeof NoWorkSchema>
export type ResultAck = z.infer<typeof ResultAckSchema>
export type LeaseRenewed = z.infer<typeof LeaseRenewedSchema>
export type LeaseReleased = z.infer<typeof LeaseReleasedSchema>
export type ErrorMessage = z.infer<typeof ErrorMessageSchema>
export type WorkResponse = z.infer<typeof WorkResponseSchema>
