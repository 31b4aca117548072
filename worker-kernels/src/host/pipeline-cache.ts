import { KernelCompileError, type KernelCompileMessage } from '../errors.ts'

/** What a pipeline is built from. Equal `key`s must describe equal pipelines. */
export type PipelineSpec = {
  key: string
  label: string
  code: string
  entryPoint: string
  /** Read-only storage bindings at @binding(0..reads-1). */
  reads: number
  /** Read-write storage bindings right after them. */
  writes: number
  /** Whether one uniform binding follows the storage ones. */
  uniform: boolean
}

/** A compiled pipeline and the explicit bind group layout it was built with. */
export type CompiledPipeline = { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }

/** Compiled pipelines of one device. */
export type PipelineCache = {
  /** The pipeline for `spec`, compiled on first use. Rejects with `KernelCompileError`. */
  get(spec: PipelineSpec): Promise<CompiledPipeline>
  /** How many pipelines are cached. */
  readonly size: number
}

/** Options of `createPipelineCache`. */
export type PipelineCacheOptions = {
  /**
   * Most pipelines kept; the least recently used is dropped past it, so a stream of
   * distinct custom kernels cannot grow memory without bound.
   * @default 64
   */
  maxEntries?: number
}

function plainMessages(info: GPUCompilationInfo): KernelCompileMessage[] {
  return [...info.messages].map((m) => ({
    type: m.type,
    message: m.message,
    line: m.lineNum,
    column: m.linePos,
  }))
}

/**
 * Build the bind group layout a program's bindings imply. Explicit rather than
 * `layout: 'auto'`: auto layouts drop bindings the shader never uses, which would make a
 * custom kernel's declared-but-unused input fail at bind time with an obscure error.
 */
function createLayout(device: GPUDevice, spec: PipelineSpec): GPUBindGroupLayout {
  const entries: GPUBindGroupLayoutEntry[] = []
  const visibility = GPUShaderStage.COMPUTE
  for (let i = 0; i < spec.reads; i++) {
    entries.push({ binding: i, visibility, buffer: { type: 'read-only-storage' } })
  }
  for (let i = 0; i < spec.writes; i++) {
    entries.push({ binding: spec.reads + i, visibility, buffer: { type: 'storage' } })
  }
  if (spec.uniform) {
    entries.push({ binding: spec.reads + spec.writes, visibility, buffer: { type: 'uniform' } })
  }
  return device.createBindGroupLayout({ label: `${spec.label}-layout`, entries })
}

async function compile(device: GPUDevice, spec: PipelineSpec): Promise<CompiledPipeline> {
  device.pushErrorScope('validation')
  let module: GPUShaderModule
  let layout: GPUBindGroupLayout
  let scope: Promise<GPUError | null>
  try {
    module = device.createShaderModule({ label: spec.label, code: spec.code })
    layout = createLayout(device, spec)
  } finally {
    // Popped before any await so no other call's commands land in this scope.
    scope = device.popErrorScope()
  }
  const [info, scopeError] = await Promise.all([module.getCompilationInfo(), scope])
  const messages = plainMessages(info)
  if (messages.some((m) => m.type === 'error')) {
    throw new KernelCompileError(`WGSL of ${spec.label} failed to compile.`, { messages })
  }
  if (scopeError) {
    throw new KernelCompileError(`WGSL of ${spec.label} was rejected.`, {
      messages,
      details: scopeError.message,
    })
  }
  try {
    const pipeline = await device.createComputePipelineAsync({
      label: spec.label,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: spec.entryPoint },
    })
    return { pipeline, layout }
  } catch (cause) {
    // GPUPipelineError: a missing entry point, or bindings that disagree with the layout.
    throw new KernelCompileError(`Building the pipeline of ${spec.label} failed.`, {
      messages,
      cause,
      details: cause instanceof Error ? cause.message : String(cause),
    })
  }
}

/**
 * Cache compute pipelines for the life of one device. Compilation is asynchronous so a
 * big shader never blocks the worker's event loop, and the promise is cached so
 * concurrent first calls compile once. A failed compile is evicted, so a transient
 * failure does not poison the cache.
 */
export function createPipelineCache(
  device: GPUDevice,
  options: PipelineCacheOptions = {},
): PipelineCache {
  const maxEntries = options.maxEntries ?? 64
  const pipelines = new Map<string, Promise<CompiledPipeline>>()
  return {
    get(spec) {
      const cached = pipelines.get(spec.key)
      if (cached) {
        // Re-insert to mark it most recently used.
        pipelines.delete(spec.key)
        pipelines.set(spec.key, cached)
        return cached
      }
      const compiled = compile(device, spec).catch((err: unknown) => {
        if (pipelines.get(spec.key) === compiled) pipelines.delete(spec.key)
        throw err
      })
      pipelines.set(spec.key, compiled)
      while (pipelines.size > maxEntries) {
        const oldest = pipelines.keys().next().value
        if (oldest === undefined) break
        pipelines.delete(oldest)
      }
      return compiled
    },
    get size() {
      return pipelines.size
    },
  }
}
