import { z } from 'zod'
import { TensorDtypeSchema, tensorByteLength } from './dtypes.ts'
import {
  DEFAULT_BATCH_PROMPTS,
  MAX_BATCH_PROMPTS,
  MAX_MODEL_FILES,
  MAX_NEW_TOKENS,
  MAX_PROMPT_TOKENS,
  MAX_PROMPTS,
  MAX_STAGES,
  MAX_STOP_TOKENS,
} from './inference/inference-limits.ts'
import { SamplingSpecSchema } from './inference/sampling-spec.ts'
import { MAX_PAYLOAD_BYTES, MAX_TENSOR_DIM, MAX_TENSOR_RANK } from './limits.ts'
import { DecoderConfigSchema } from './model/decoder-config.ts'

/**
 * What a researcher submits: a kernel (the built-in matmul, or their own WGSL), its tasks
 * (input blobs by sha-256, output shapes), how results are verified, and what the job may
 * cost, how urgent it is and when it must be done. Browser-safe: imports only zod. The
 * HTTP API parses `POST /v1/jobs` with `JobSpecSchema`; the SDK builds the same shape.
 */

/** Longest WGSL source of a custom program (UTF-16 code units ≈ bytes for WGSL). */
export const MAX_WGSL_CHARS = 64 * 1024
/** Most tasks one job has: a custom job's `tasks`, or a matmul job's tiles. */
export const MAX_JOB_TASKS = 100_000
/**
 * Largest product C of a matmul job, in elements (256 MiB of float32, e.g. 8192×8192): the
 * relay assembles it in memory for `GET /v1/jobs/:id/output`.
 */
export const MAX_MATMUL_OUTPUT_ELEMENTS = 2 ** 26
/** Most output elements of all tasks of a custom job together (1 GiB of float32). */
export const MAX_JOB_OUTPUT_ELEMENTS = 2 ** 28
/**
 * Most bytes of one custom task's outputs together (each rounded up to 4 bytes, as they are
 * packed): a contributor returns them in one result message, so no more than its payload
 * may hold (64 MiB less the largest header).
 */
export const MAX_TASK_OUTPUT_BYTES = MAX_PAYLOAD_BYTES
/** Most input or output buffers one custom program declares. */
export const MAX_PROGRAM_BINDINGS = 8
/** Largest uniform block of one task, in bytes (WebGPU guarantees 64 KiB; keep tasks small). */
export const MAX_PARAMS_BYTES = 4 * 1024
/** Largest element count of one tensor a job references (1 GiB of float32). */
export const MAX_TENSOR_ELEMENTS = 2 ** 28
/** Largest workgroup count per dimension (WebGPU's `maxComputeWorkgroupsPerDimension` default). */
export const MAX_WORKGROUPS_PER_DIM = 65_535
/** Largest budget, in credits: the ledger's largest balance (SQLite's signed 64-bit integer). */
export const MAX_BUDGET = 2n ** 63n - 1n
/** Largest priority; the default is 1 and shares are proportional to it. */
export const MAX_PRIORITY = 1_000

const blobHash = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'expected the lower-case hex sha-256 returned by PUT /v1/blobs')
const dim = z.number().int().min(1).max(MAX_TENSOR_DIM)
const shape = z
  .array(dim)
  .min(1)
  .max(MAX_TENSOR_RANK)
  .refine((s) => s.reduce((p, d) => p * d, 1) <= MAX_TENSOR_ELEMENTS, {
    message: `a tensor may hold at most ${MAX_TENSOR_ELEMENTS} elements`,
  })
const bindingName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,31}$/, 'binding names are WGSL identifiers of 1-32 characters')

/** A tensor held in the blob store: its bytes are `shape`'s elements of `dtype`, row-major. */
export const TensorRefSchema = z.object({
  blob: blobHash,
  dtype: TensorDtypeSchema,
  shape,
})
export type TensorRef = z.infer<typeof TensorRefSchema>

/** An output a task must produce. */
export const OutputSpecSchema = z.object({ shape, dtype: TensorDtypeSchema })
export type OutputSpec = z.infer<typeof OutputSpecSchema>

/**
 * How results are checked before they are accepted and paid. Every field is optional;
 * the coordinator picks safe defaults per kernel.
 */
export const VerificationPolicySchema = z.object({
  /** Fraction of matmul results checked with Freivalds' algorithm. @default 1 */
  freivalds: z.number().min(0).max(1).optional(),
  /**
   * A fixed quorum: this many distinct contributors (peer id, wallet and network address)
   * must agree, outnumbering any other answer, before a result no algebraic check covers is
   * accepted. @default adaptive (BOINC): 2 for newcomers, 1 for a contributor whose record
   * makes a wrong result less likely than 1e-4
   */
  replication: z.number().int().min(1).max(8).optional(),
  /**
   * Accept a result only once the chance that it is wrong, given the credibility of the
   * contributors who agree on it and against it, is below this (Sarmenta's
   * credibility-based voting). Strongest against colluders; needs several distinct
   * contributors while they are new. Ignored when `replication` is set.
   */
  maxErrorRate: z.number().min(1e-12).max(0.5).optional(),
  /**
   * Fraction of matmul results recomputed on the coordinator (beside every result of a
   * contributor with no verified record). Catches errors too small for Freivalds' check.
   * Custom kernels are not recomputed: canaries and replication check them.
   * @default 0.02 (the coordinator's `spotCheckRate`)
   */
  spotCheck: z.number().min(0).max(1).optional(),
  /** Fraction of leases that re-issue a task whose answer is already known. @default 0 (matmul), 0.02 (custom) */
  canaries: z.number().min(0).max(1).optional(),
})
export type VerificationPolicy = z.infer<typeof VerificationPolicySchema>

const common = {
  verification: VerificationPolicySchema.optional(),
  /**
   * Most credits the job may spend; escrowed at submit. A safe integer, or a decimal string
   * for any amount up to `MAX_BUDGET` (credits are exact integers; read it with
   * `jobBudget`). @default the quote
   */
  budget: z
    .union([
      z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      z
        .string()
        .regex(/^(0|[1-9][0-9]{0,18})$/, 'expected a non-negative integer as a decimal string')
        // Zod runs a refinement even when the regex failed: only digits reach BigInt.
        .refine(
          (text) => !/^[0-9]+$/.test(text) || BigInt(text) <= MAX_BUDGET,
          `expected at most ${MAX_BUDGET} credits`,
        ),
    ])
    .optional(),
  /** Share of contributors relative to other jobs. @default 1 */
  priority: z.number().int().min(1).max(MAX_PRIORITY).optional(),
  /** ISO 8601 instant after which unfinished work is abandoned and unspent escrow refunded. */
  deadline: z.iso.datetime({ offset: true }).optional(),
  /** A label for listings. */
  name: z.string().max(128).optional(),
}

/** C = A·B with A m×k and B k×n, both float32; the coordinator tiles it. */
export const MatmulJobSpecSchema = z
  .object({
    kernel: z.literal('matmul'),
    inputs: z.object({ a: TensorRefSchema, b: TensorRefSchema }),
    ...common,
  })
  .superRefine((spec, ctx) => {
    const { a, b } = spec.inputs
    for (const [name, ref] of [
      ['a', a],
      ['b', b],
    ] as const) {
      if (ref.shape.length !== 2)
        ctx.addIssue({
          code: 'custom',
          path: ['inputs', name, 'shape'],
          message: `matmul input ${name} must be 2-D, got rank ${ref.shape.length}`,
        })
      if (ref.dtype !== 'float32')
        ctx.addIssue({
          code: 'custom',
          path: ['inputs', name, 'dtype'],
          message: `matmul input ${name} must be float32, got ${ref.dtype}`,
        })
    }
    if (a.shape.length === 2 && b.shape.length === 2 && a.shape[1] !== b.shape[0])
      ctx.addIssue({
        code: 'custom',
        path: ['inputs'],
        message: `inner dimensions differ: A is ${a.shape.join('x')}, B is ${b.shape.join('x')}`,
      })
    const [m = 1] = a.shape
    const n = b.shape[1] ?? 1
    if (m * n > MAX_MATMUL_OUTPUT_ELEMENTS)
      ctx.addIssue({
        code: 'custom',
        path: ['inputs'],
        message: `C = A·B would be ${m}x${n} = ${m * n} elements, at most ${MAX_MATMUL_OUTPUT_ELEMENTS}`,
      })
  })
export type MatmulJobSpec = z.infer<typeof MatmulJobSpecSchema>

/**
 * A researcher's WGSL program. Bindings, all in `@group(0)`: inputs at `@binding(0..I-1)`
 * as `var<storage, read>`, outputs at `@binding(I..I+O-1)` as `var<storage, read_write>`,
 * then, when a task has `params`, one `var<uniform>` at `@binding(I+O)`. Matches
 * `CustomKernelProgram` of `@tabswarm/worker-kernels`.
 */
export const CustomProgramSchema = z.object({
  wgsl: z.string().min(1).max(MAX_WGSL_CHARS),
  entryPoint: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/)
    .optional(),
  inputs: z
    .array(z.object({ name: bindingName, dtype: TensorDtypeSchema }))
    .max(MAX_PROGRAM_BINDINGS),
  outputs: z
    .array(z.object({ name: bindingName, dtype: TensorDtypeSchema }))
    .min(1)
    .max(MAX_PROGRAM_BINDINGS),
})
export type CustomProgram = z.infer<typeof CustomProgramSchema>

const base64 = z
  .string()
  .max(Math.ceil(MAX_PARAMS_BYTES / 3) * 4)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'params must be base64')

/** One run of the program: its inputs, the outputs it writes, and the dispatch size. */
export const CustomTaskSchema = z.object({
  inputs: z.array(TensorRefSchema).max(MAX_PROGRAM_BINDINGS),
  outputs: z.array(OutputSpecSchema).min(1).max(MAX_PROGRAM_BINDINGS),
  workgroups: z.tuple([
    z.number().int().min(1).max(MAX_WORKGROUPS_PER_DIM),
    z.number().int().min(1).max(MAX_WORKGROUPS_PER_DIM),
    z.number().int().min(1).max(MAX_WORKGROUPS_PER_DIM),
  ]),
  /** Bytes of the uniform block, base64. */
  params: base64.optional(),
})
export type CustomTask = z.infer<typeof CustomTaskSchema>

export const CustomJobSpecSchema = z
  .object({
    kernel: z.literal('custom'),
    program: CustomProgramSchema,
    tasks: z.array(CustomTaskSchema).min(1).max(MAX_JOB_TASKS),
    ...common,
  })
  .superRefine((spec, ctx) => {
    const { program } = spec
    let outputElements = 0
    for (const task of spec.tasks)
      for (const out of task.outputs) outputElements += out.shape.reduce((p, d) => p * d, 1)
    if (outputElements > MAX_JOB_OUTPUT_ELEMENTS)
      ctx.addIssue({
        code: 'custom',
        path: ['tasks'],
        message: `the tasks' outputs hold ${outputElements} elements together, at most ${MAX_JOB_OUTPUT_ELEMENTS}`,
      })
    spec.tasks.forEach((task, i) => {
      const outputBytes = task.outputs.reduce(
        (sum, out) => sum + Math.ceil(tensorByteLength(out.shape, out.dtype) / 4) * 4,
        0,
      )
      if (outputBytes > MAX_TASK_OUTPUT_BYTES)
        ctx.addIssue({
          code: 'custom',
          path: ['tasks', i, 'outputs'],
          message: `task ${i}'s outputs are ${outputBytes} bytes, over the ${MAX_TASK_OUTPUT_BYTES}-byte limit of one result message (MAX_TASK_OUTPUT_BYTES): split it into smaller tasks`,
        })
      if (task.inputs.length !== program.inputs.length)
        ctx.addIssue({
          code: 'custom',
          path: ['tasks', i, 'inputs'],
          message: `task ${i} has ${task.inputs.length} inputs, the program declares ${program.inputs.length}`,
        })
      if (task.outputs.length !== program.outputs.length)
        ctx.addIssue({
          code: 'custom',
          path: ['tasks', i, 'outputs'],
          message: `task ${i} has ${task.outputs.length} outputs, the program declares ${program.outputs.length}`,
        })
      task.inputs.forEach((ref, j) => {
        const declared = program.inputs[j]
        if (declared != null && declared.dtype !== ref.dtype)
          ctx.addIssue({
            code: 'custom',
            path: ['tasks', i, 'inputs', j, 'dtype'],
            message: `task ${i} input ${declared.name} is ${ref.dtype}, the program declares ${declared.dtype}`,
          })
      })
      task.outputs.forEach((out, j) => {
        const declared = program.outputs[j]
        if (declared != null && declared.dtype !== out.dtype)
          ctx.addIssue({
            code: 'custom',
            path: ['tasks', i, 'outputs', j, 'dtype'],
            message: `task ${i} output ${declared.name} is ${out.dtype}, the program declares ${declared.dtype}`,
          })
      })
    })
  })
export type CustomJobSpec = z.infer<typeof CustomJobSpecSchema>

const tokenId = z.number().int().min(0)

/**
 * A decoder model held in the blob store: its normalised architecture (`parseHfConfig` of
 * its `config.json`) and the safetensors files its weights are in, each uploaded whole as
 * one blob. The relay reads each file's header and names every tensor a task needs as a
 * byte range of its file's blob, so tabs fetch (and cache) only their layers.
 */
export const ModelRefSchema = z.object({
  /** A label for listings and the dashboard: the model directory's name, say. */
  name: z.string().max(128).optional(),
  config: DecoderConfigSchema,
  files: z
    .array(z.object({ blob: blobHash }))
    .min(1)
    .max(MAX_MODEL_FILES),
  /**
   * The model's `tokenizer.json`, uploaded as a blob too, so that a client that did not
   * upload the model (the dashboard, another process) can encode prompts and decode tokens
   * from the ref alone. The relay does not read it. @default none: the client brings its own
   */
  tokenizer: z.object({ blob: blobHash }).optional(),
})
export type ModelRef = z.infer<typeof ModelRefSchema>

/**
 * Text generation with a decoder (GPT-2 or Llama family), the prompts already tokenized
 * (the SDK does it with the model's `tokenizer.json`). Two modes:
 *
 * - `batch` (data parallel): each task runs up to `batchSize` prompts through the whole
 *   model and generates their tokens; for models that fit in one tab.
 * - `pipeline`: the layers are split into contiguous stages sized to the contributors'
 *   memory (or `stages` of them); each step of each sequence is a task per stage, the
 *   activations go from stage to stage tab to tab, and the coordinator draws each token
 *   from the last stage's logits.
 */
export const InferenceJobSpecSchema = z
  .object({
    kernel: z.literal('inference'),
    model: ModelRefSchema,
    mode: z.enum(['batch', 'pipeline']),
    prompts: z.array(z.array(tokenId).min(1).max(MAX_PROMPT_TOKENS)).min(1).max(MAX_PROMPTS),
    maxNewTokens: z.number().int().min(1).max(MAX_NEW_TOKENS),
    /** @default greedy */
    sampling: SamplingSpecSchema.optional(),
    /** Token ids that end a sequence (not included in its tokens). @default the model's EOS */
    stop: z.array(tokenId).max(MAX_STOP_TOKENS).optional(),
    /** Batch mode: prompts per task. @default DEFAULT_BATCH_PROMPTS */
    batchSize: z.number().int().min(1).max(MAX_BATCH_PROMPTS).optional(),
    /** Pipeline mode: split into this many stages. @default as few as the contributors' memory allows */
    stages: z.number().int().min(1).max(MAX_STAGES).optional(),
    ...common,
  })
  .superRefine((spec, ctx) => {
    const { config } = spec.model
    spec.prompts.forEach((prompt, i) => {
      const bad = prompt.findIndex((t) => t >= config.vocabSize)
      if (bad >= 0)
        ctx.addIssue({
          code: 'custom',
          path: ['prompts', i, bad],
          message: `token ${prompt[bad]} is outside the model's vocabulary of ${config.vocabSize}`,
        })
      if (prompt.length >= config.maxPositions)
        ctx.addIssue({
          code: 'custom',
          path: ['prompts', i],
          message: `prompt ${i} is ${prompt.length} tokens, the model's context is ${config.maxPositions}: no room to generate`,
        })
    })
    spec.stop?.forEach((t, i) => {
      if (t >= config.vocabSize)
        ctx.addIssue({
          code: 'custom',
          path: ['stop', i],
          message: `stop token ${t} is outside the model's vocabulary of ${config.vocabSize}`,
        })
    })
    if (spec.stages != null && spec.stages > config.layers)
      ctx.addIssue({
        code: 'custom',
        path: ['stages'],
        message: `${spec.stages} stages cannot split ${config.layers} layers`,
      })
    if (spec.mode === 'batch' && spec.stages != null)
      ctx.addIssue({
        code: 'custom',
        path: ['stages'],
        message: "stages is for mode 'pipeline'; batch mode runs the whole model in each task",
      })
    if (spec.mode === 'pipeline' && spec.batchSize != null)
      ctx.addIssue({
        code: 'custom',
        path: ['batchSize'],
        message: "batchSize is for mode 'batch'",
      })
  })
export type InferenceJobSpec = z.infer<typeof InferenceJobSpecSchema>

/** Prompts per task of a batch-mode spec. */
export const batchPromptsOf = (spec: Pick<InferenceJobSpec, 'batchSize'>): number =>
  spec.batchSize ?? DEFAULT_BATCH_PROMPTS

/** Body of `POST /v1/jobs` and argument of `Coordinator.submit`. */
export const JobSpecSchema = z.discriminatedUnion('kernel', [
  MatmulJobSpecSchema,
  CustomJobSpecSchema,
  InferenceJobSpecSchema,
])
export type JobSpec = z.infer<typeof JobSpecSchema>

/** A spec's `budget` as exact credits (it may be written as a number or a decimal string). */
export function jobBudget(spec: Pick<JobSpec, 'budget'>): bigint | undefined {
  return spec.budget == null ? undefined : BigInt(spec.budget)
}
