import { KernelExecutionError, TabswarmError } from '../errors.ts'
import type { CallDeadline } from './call-deadline.ts'
import type { DeviceSession } from './device-session.ts'
import { type GridDispatch, planGridDispatches } from './dispatch-grid.ts'
import { type GpuProgram, GRID_HEADER_BYTES, type ProgramPass } from './gpu-program.ts'
import type { CompiledPipeline } from './pipeline-cache.ts'

/** Options of `runGpuProgram`. */
export type RunGpuProgramOptions = {
  session: DeviceSession
  program: GpuProgram
  deadline: CallDeadline
  /** Most workgroups per axis in one dispatch. */
  maxWorkgroupsPerDimension: number
  /**
   * Most work (in the passes' `workPerWorkgroup` units, FLOP-like) per dispatch and per
   * submission: bounds how long the GPU runs any one of them.
   */
  maxWorkPerSubmission: number
}

const align = (value: number, to: number): number => Math.ceil(value / to) * to

function describeGpuError(error: GPUError | null | undefined): string | undefined {
  return error ? `${error.constructor.name}: ${error.message}` : undefined
}

/** Bytes of a view, padded with zeros to a multiple of 4 as `writeBuffer` requires. */
function uploadBytes(data: ArrayBufferView): ArrayBufferView<ArrayBuffer> {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  if (data.byteLength % 4 === 0 && data.buffer instanceof ArrayBuffer) {
    return bytes as Uint8Array<ArrayBuffer>
  }
  const padded = new Uint8Array(align(data.byteLength, 4))
  padded.set(bytes)
  return padded
}

function uniformBytesOf(pass: ProgramPass): number {
  const params = pass.params?.byteLength ?? 0
  if (pass.uniform === 'none') return 0
  return align((pass.uniform === 'grid' ? GRID_HEADER_BYTES : 0) + params, 16)
}

/**
 * Run a planned program: compile (cached) its pipelines, upload inputs, encode every
 * pass split into dispatches and submissions within the work budget, read the outputs
 * back. Every wait races the call's deadline and device loss. Buffers come from the
 * session's pool and go back to it only after a clean run; after any failure they are
 * destroyed, since the GPU or a pending map may still hold them.
 */
export async function runGpuProgram({
  session,
  program,
  deadline,
  maxWorkgroupsPerDimension,
  maxWorkPerSubmission,
}: RunGpuProgramOptions): Promise<ArrayBuffer[]> {
  const { device, pool } = session
  const waitFor = <T>(work: Promise<T>): Promise<T> =>
    deadline.race(Promise.race([work, session.lost]))

  const pipelines: CompiledPipeline[] = await waitFor(
    Promise.all(
      program.passes.map((pass) =>
        session.pipelines.get({
          key: pass.key,
          label: pass.label,
          code: pass.code,
          entryPoint: pass.entryPoint ?? 'main',
          reads: pass.reads.length,
          writes: pass.writes.length,
          uniform: pass.uniform !== 'none',
        }),
      ),
    ),
  )

  const held: GPUBuffer[] = []
  let clean = false
  const acquire = (label: string, bytes: number, usage: GPUBufferUsageFlags): GPUBuffer => {
    const buffer = pool.acquire(`tabswarm-${program.label}-${label}`, bytes, usage)
    held.push(buffer)
    return buffer
  }
  const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC

  try {
    deadline.throwIfCancelled()
    device.pushErrorScope('out-of-memory')
    device.pushErrorScope('validation')
    let scopes: Promise<(GPUError | null)[]>
    const readbacks: { buffer: GPUBuffer; bytes: number }[] = []
    try {
      const sizes = program.buffers.map((spec) =>
        align(spec.kind === 'input' ? spec.data.byteLength : spec.bytes, 4),
      )
      const buffers = program.buffers.map((spec, i) => {
        const bytes = Math.max(4, sizes[i] as number)
        const buffer = acquire(spec.label, bytes, storage)
        if (spec.kind === 'input') device.queue.writeBuffer(buffer, 0, uploadBytes(spec.data))
        return buffer
      })

      // One uniform buffer for every dispatch of every pass, each at an aligned offset.
      const stride = device.limits.minUniformBufferOffsetAlignment
      const plans = program.passes.map((pass) => {
        const budget = Math.max(1, Math.floor(maxWorkPerSubmission / pass.workPerWorkgroup))
        const dispatches: GridDispatch[] =
          pass.uniform === 'grid'
            ? planGridDispatches(pass.grid, {
                maxPerDimension: maxWorkgroupsPerDimension,
                maxPerDispatch: budget,
              })
            : [{ offset: [0, 0, 0], count: [pass.grid[0], pass.grid[1], pass.grid[2]] }]
        return { pass, dispatches, uniformBytes: uniformBytesOf(pass) }
      })
      const uniformSlots = plans.reduce((n, p) => n + (p.uniformBytes ? p.dispatches.length : 0), 0)
      const maxUniform = Math.max(16, ...plans.map((p) => p.uniformBytes))
      const uniforms =
        uniformSlots > 0
          ? acquire(
              'uniforms',
              stride * (uniformSlots - 1) + maxUniform,
              GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
            )
          : undefined

      let encoder = device.createCommandEncoder({ label: `tabswarm-${program.label}` })
      if (program.zeroOutputs) {
        program.buffers.forEach((spec, i) => {
          if (spec.kind !== 'input') encoder.clearBuffer(buffers[i] as GPUBuffer)
        })
      }
      let work = 0
      let slot = 0
      plans.forEach(({ pass, dispatches, uniformBytes }, p) => {
        const { pipeline, layout } = pipelines[p] as CompiledPipeline
        const storageEntries: GPUBindGroupEntry[] = [...pass.reads, ...pass.writes].map(
          (index, binding) => ({
            binding,
            resource: { buffer: buffers[index] as GPUBuffer, size: Math.max(4, sizes[index] ?? 4) },
          }),
        )
        for (const dispatch of dispatches) {
          const entries = [...storageEntries]
          if (uniforms && uniformBytes) {
            const offset = slot++ * stride
            const bytes = new Uint8Array(uniformBytes)
            let at = 0
            if (pass.uniform === 'grid') {
              bytes.set(new Uint8Array(new Uint32Array([...dispatch.offset, 0]).buffer))
              at = GRID_HEADER_BYTES
            }
            if (pass.params) {
              const { buffer, byteOffset, byteLength } = pass.params
              bytes.set(new Uint8Array(buffer, byteOffset, byteLength), at)
            }
            device.queue.writeBuffer(uniforms, offset, bytes)
            entries.push({
              binding: entries.length,
              resource: { buffer: uniforms, offset, size: uniformBytes },
            })
          }
          const cost =
            pass.workPerWorkgroup * dispatch.count[0] * dispatch.count[1] * dispatch.count[2]
          if (work > 0 && work + cost > maxWorkPerSubmission) {
            // Close this submission: each one stays within the watchdog budget.
            device.queue.submit([encoder.finish()])
            encoder = device.createCommandEncoder({ label: `tabswarm-${program.label}` })
            work = 0
          }
          work += cost
          const computePass = encoder.beginComputePass({ label: pass.label })
          computePass.setPipeline(pipeline)
          computePass.setBindGroup(0, device.createBindGroup({ layout, entries }))
          computePass.dispatchWorkgroups(...dispatch.count)
          computePass.end()
        }
      })
      for (const index of program.outputs) {
        const bytes = Math.max(4, sizes[index] as number)
        const buffer = acquire('readback', bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST)
        encoder.copyBufferToBuffer(buffers[index] as GPUBuffer, 0, buffer, 0, bytes)
        const spec = program.buffers[index]
        readbacks.push({ buffer, bytes: spec && spec.kind !== 'input' ? spec.bytes : 0 })
      }
      device.queue.submit([encoder.finish()])
    } finally {
      scopes = Promise.all([device.popErrorScope(), device.popErrorScope()])
      scopes.catch(() => {})
    }

    const mapped = Promise.all(readbacks.map(({ buffer }) => buffer.mapAsync(GPUMapMode.READ)))
    // Abandoned when the scopes wait fails (loss, deadline): mark it handled.
    mapped.catch(() => {})
    const [validation, outOfMemory] = await waitFor(scopes)
    if (validation || outOfMemory) {
      throw new KernelExecutionError(`The ${program.label} kernel failed on the GPU.`, {
        details: describeGpuError(validation) ?? describeGpuError(outOfMemory) ?? '',
      })
    }
    try {
      await waitFor(mapped)
    } catch (cause) {
      // Device loss can reject a map before `lost` settles; report the loss, not the map.
      const lostError = session.lostError()
      if (lostError) throw lostError
      throw cause instanceof TabswarmError
        ? cause
        : new KernelExecutionError(`Reading the ${program.label} result back failed.`, { cause })
    }
    // Copy out of the mapped range: it is detached on unmap.
    const results = readbacks.map(({ buffer, bytes }) => {
      const copy = buffer.getMappedRange(0, align(bytes, 4)).slice(0, bytes)
      buffer.unmap()
      return copy
    })
    clean = true
    return results
  } finally {
    for (const buffer of held) {
      if (clean) pool.release(buffer)
      else buffer.destroy()
    }
  }
}
