import {
  alignedViewAs,
  type BufferTensor,
  type DecoderGenerateProgram,
  type DecoderStageProgram,
  elementCount,
  type InputRef,
  type Lease,
  type TaskProgram,
} from '@tabswarm/protocol'
import {
  type DecoderStage,
  type DecoderStageOptions,
  generateBatch,
  type KernelRunner,
  type StageInput,
  type StageWeight,
} from '@tabswarm/worker-kernels'
import { DecoderTaskError } from './decoder-task-error.ts'
import { createStageCache, type StageCacheLimits, type StageKey } from './stage-cache.ts'

/**
 * Binds a decoder stage to its weights on this contributor's device: the GPU stage
 * (`createGpuDecoderStage`) in tabs and headless workers, the CPU reference
 * (`createReferenceDecoderStage`) in tests. `runner` is the contributor's kernel executor.
 */
export type DecoderStageFactory = (
  runner: KernelRunner,
  options: DecoderStageOptions,
) => DecoderStage | Promise<DecoderStage>

/** The programs the decoder executor runs. */
export type DecoderProgram = DecoderStageProgram | DecoderGenerateProgram

/** Whether a lease's program runs on the decoder executor rather than as one kernel. */
export function isDecoderProgram(program: TaskProgram): program is DecoderProgram {
  return program.kind === 'decoder-stage' || program.kind === 'decoder-generate'
}

/** What one decoder task gets from the contributor loop: its budget and its input fetch. */
export interface DecoderTaskContext {
  /**
   * Fetches inputs of the lease, lazy ones included, each checked against its sha-256
   * exactly as the loop's own inputs are (`fetchTaskInputs`), within the task's deadline.
   */
  fetch(refs: readonly InputRef[]): Promise<Uint8Array[]>
  signal: AbortSignal
  /** Milliseconds left of the task's kernel deadline, read at each kernel call. */
  remainingMs(): number
}

/** What a decoder task produced. */
export interface DecoderTaskOutput {
  /** The lease's declared outputs, in order, ready for `packBuffers`. */
  outputs: BufferTensor[]
  /** Positions replayed from the lazy prefix to rebuild the KV cache (0 on a cache hit). */
  replayed: number
  /** Whether the stage was bound (weights fetched) for this task. */
  bound: boolean
}

/** Options of {@link createDecoderExecutor}. */
export interface DecoderExecutorOptions {
  /** The contributor's kernel executor, handed to `stages`. */
  runner: KernelRunner
  stages: DecoderStageFactory
  /** How many stages and KV caches are kept between tasks. */
  limits?: StageCacheLimits | undefined
}

export interface DecoderExecutor {
  run(lease: Lease, context: DecoderTaskContext): Promise<DecoderTaskOutput>
  /** Destroys every bound stage (the contributor stopped). */
  clear(): void
}

const WEIGHT_NAME = /^w(\d+)$/

function invalid(lease: Lease, problem: string): DecoderTaskError {
  return new DecoderTaskError(
    'DECODER_LEASE_INVALID',
    `lease ${lease.leaseId} (${lease.program.kind}): ${problem}`,
  )
}

function refNamed(lease: Lease, name: string): InputRef | undefined {
  return lease.inputs.find((ref) => ref.name === name)
}

function requireRef(lease: Lease, name: string, dtype: InputRef['dtype']): InputRef {
  const ref = refNamed(lease, name)
  if (ref == null) throw invalid(lease, `no input named ${name}`)
  if (ref.dtype !== dtype) throw invalid(lease, `input ${name} is ${ref.dtype}, not ${dtype}`)
  return ref
}

/** The weight inputs `w0 … wN`, in `tensors` order, checked against the program. */
function weightRefs(lease: Lease, tensors: readonly string[]): InputRef[] {
  const refs: InputRef[] = []
  for (const ref of lease.inputs) {
    const index = WEIGHT_NAME.exec(ref.name)?.[1]
    if (index == null) continue
    if (ref.dtype !== 'float32' && ref.dtype !== 'float16')
      throw invalid(lease, `weight ${ref.name} is ${ref.dtype}: weights are float32 or float16`)
    refs[Number(index)] = ref
  }
  if (refs.length !== tensors.length || refs.some((ref) => ref == null))
    throw invalid(
      lease,
      `the program names ${tensors.length} weight tensors, the inputs are ${refs.filter(Boolean).length} (w0 … w${tensors.length - 1} expected)`,
    )
  return refs
}

function weightOf(ref: InputRef, bytes: Uint8Array): StageWeight {
  return ref.dtype === 'float16'
    ? { dtype: 'float16', data: alignedViewAs('float16', bytes) as Uint16Array }
    : { dtype: 'float32', data: alignedViewAs('float32', bytes) as Float32Array }
}

/** The outputs `lease` declares, from what the program produced, checked name by name. */
function declaredOutputs(
  lease: Lease,
  produced: Record<string, Float32Array | Int32Array>,
): BufferTensor[] {
  return lease.outputs.map((out) => {
    const data = produced[out.name]
    if (data == null)
      throw invalid(
        lease,
        `it declares output ${out.name}; the program produces ${Object.keys(produced).join(', ')}`,
      )
    const dtype = data instanceof Int32Array ? 'int32' : 'float32'
    if (out.dtype !== dtype || elementCount(out.shape) !== data.length)
      throw invalid(
        lease,
        `output ${out.name} is declared ${out.dtype}[${out.shape.join(', ')}], the program made ${dtype}[${data.length}]`,
      )
    return {
      name: out.name,
      dtype: out.dtype,
      shape: out.shape,
      bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    }
  })
}

/**
 * Runs `decoder-stage` and `decoder-generate` leases: binds each stage once (its weights
 * fetched only then, kept bound between tasks) and keeps each sequence's KV cache, so a
 * pipeline step runs only its new rows. A step whose cache is shorter than its `start` (a
 * new tab, a shard reassigned from a tab that left) fetches the lazy `prefix` and replays
 * the missing positions first; a longer one (a step retried after a rejection) is cut
 * back to `start`.
 *
 * @example
 * const decoder = createDecoderExecutor({ runner: executor, stages: createGpuDecoderStage })
 * const { outputs } = await decoder.run(lease, { fetch, signal, remainingMs })
 */
export function createDecoderExecutor(options: DecoderExecutorOptions): DecoderExecutor {
  const cache = createStageCache(options.limits)

  async function boundStage(
    lease: Lease,
    program: DecoderProgram,
    key: StageKey,
    context: DecoderTaskContext,
  ): Promise<{ stage: DecoderStage; bound: boolean }> {
    const refs = weightRefs(lease, program.tensors)
    const held = cache.stage(key)
    if (held != null) return { stage: held, bound: false }
    const buffers = await context.fetch(refs)
    const weights = new Map<string, StageWeight>()
    let bytes = 0
    refs.forEach((ref, i) => {
      const data = buffers[i] as Uint8Array
      weights.set(program.tensors[i] as string, weightOf(ref, data))
      bytes += data.byteLength
    })
    let stage: DecoderStage
    try {
      stage = await options.stages(options.runner, {
        config: program.config,
        fromLayer: key.fromLayer,
        toLayer: key.toLayer,
        weights,
      })
    } catch (err) {
      // A factory's RangeError names the missing or mis-sized tensor: the lease's fault.
      if (err instanceof RangeError) throw invalid(lease, err.message)
      throw err
    }
    cache.addStage(key, stage, bytes)
    return { stage, bound: true }
  }

  const runOptions = (context: DecoderTaskContext) => ({
    signal: context.signal,
    timeoutMs: Math.max(1, Math.floor(context.remainingMs())),
  })

  async function runStage(
    lease: Lease,
    program: DecoderStageProgram,
    context: DecoderTaskContext,
  ): Promise<DecoderTaskOutput> {
    const { config, fromLayer, toLayer, start, rows, sequence } = program
    if (!(fromLayer < toLayer && toLayer <= config.layers))
      throw invalid(
        lease,
        `layers ${fromLayer}…${toLayer - 1} are not within the model's ${config.layers}`,
      )
    if (start + rows > config.maxPositions)
      throw invalid(
        lease,
        `positions ${start}…${start + rows - 1} pass the context of ${config.maxPositions}`,
      )
    const first = fromLayer === 0
    const width = first ? 1 : config.hiddenSize
    const inputRef = first
      ? requireRef(lease, 'tokens', 'int32')
      : requireRef(lease, 'x', 'float32')
    if (elementCount(inputRef.shape) !== rows * width)
      throw invalid(
        lease,
        `input ${inputRef.name} [${inputRef.shape.join(', ')}] is not ${rows} rows of ${width}`,
      )
    const prefixRef = refNamed(lease, 'prefix')
    const key: StageKey = { jobId: lease.jobId, fromLayer, toLayer }
    const [[inputBytes], { stage, bound }] = await Promise.all([
      context.fetch([inputRef]),
      boundStage(lease, program, key, context),
    ])
    const asInput = (bytes: Uint8Array): StageInput =>
      first
        ? { tokens: alignedViewAs('int32', bytes) as Int32Array }
        : { x: alignedViewAs('float32', bytes) as Float32Array }
    const kv = cache.kvCache(key, sequence)
    let replayed = 0
    try {
      if (kv.length > start) kv.truncate(start)
      if (kv.length < start) {
        if (prefixRef == null)
          throw invalid(
            lease,
            `this contributor holds ${kv.length} of the ${start} positions before the step, and the lease has no prefix to replay`,
          )
        if (
          prefixRef.dtype !== (first ? 'int32' : 'float32') ||
          elementCount(prefixRef.shape) !== start * width
        )
          throw invalid(
            lease,
            `prefix ${prefixRef.dtype}[${prefixRef.shape.join(', ')}] is not ${start} positions of ${width}`,
          )
        const [prefixBytes] = await context.fetch([prefixRef])
        const prefix = asInput(prefixBytes as Uint8Array)
        const missing: StageInput =
          'tokens' in prefix
            ? { tokens: prefix.tokens.subarray(kv.length, start) }
            : { x: prefix.x.subarray(kv.length * width, start * width) }
        replayed = start - kv.length
        await stage.forward(missing, kv, runOptions(context))
      }
      const hidden = await stage.forward(asInput(inputBytes as Uint8Array), kv, runOptions(context))
      if (toLayer < config.layers)
        return { outputs: declaredOutputs(lease, { hidden }), replayed, bound }
      const last = hidden.subarray((rows - 1) * config.hiddenSize)
      const top = await stage.topLogits(last, program.topLogits, runOptions(context))
      return {
        outputs: declaredOutputs(lease, { ids: top.ids, logits: top.logits }),
        replayed,
        bound,
      }
    } catch (err) {
      // A step that failed part way may have appended some of its rows: start over next time.
      cache.dropKvCache(key, sequence)
      throw err
    }
  }

  async function runGenerate(
    lease: Lease,
    program: DecoderGenerateProgram,
    context: DecoderTaskContext,
  ): Promise<DecoderTaskOutput> {
    const { config } = program
    const tokensRef = requireRef(lease, 'tokens', 'int32')
    const lengthsRef = requireRef(lease, 'lengths', 'int32')
    const key: StageKey = { jobId: lease.jobId, fromLayer: 0, toLayer: config.layers }
    const [[tokenBytes, lengthBytes], { stage, bound }] = await Promise.all([
      context.fetch([tokensRef, lengthsRef]),
      boundStage(lease, program, key, context),
    ])
    const tokens = alignedViewAs('int32', tokenBytes as Uint8Array) as Int32Array
    const lengths = alignedViewAs('int32', lengthBytes as Uint8Array) as Int32Array
    const prompts: Int32Array[] = []
    let at = 0
    for (const length of lengths) {
      if (!(length >= 1) || at + length > tokens.length)
        throw invalid(
          lease,
          `prompt lengths ${[...lengths].join(', ')} do not split ${tokens.length} tokens`,
        )
      prompts.push(tokens.subarray(at, at + length))
      at += length
    }
    if (at !== tokens.length)
      throw invalid(lease, `prompt lengths add up to ${at}, the tokens are ${tokens.length}`)
    const out = await generateBatch(
      stage,
      {
        prompts,
        maxNewTokens: program.maxNewTokens,
        sampling: program.sampling,
        stop: program.stop,
        topLogits: program.topLogits,
        firstPrompt: program.firstPrompt,
      },
      runOptions(context),
    )
    return {
      outputs: declaredOutputs(lease, { tokens: out.tokens, ids: out.ids, logits: out.logits }),
      replayed: 0,
      bound,
    }
  }

  return {
    run(lease, context) {
      const { program } = lease
      if (program.kind === 'decoder-stage') return runStage(lease, program, context)
      if (program.kind === 'decoder-generate') return runGenerate(lease, program, context)
      throw invalid(lease, 'not a decoder program')
    },
    clear: () => cache.clear(),
  }
}
