import { KernelExecutionError, TabswarmError } from '../errors.ts'
import { planMatmulDispatches } from '../kernels/matmul/matmul-dispatch-plan.ts'
import {
  MATMUL_DIMS_BYTES,
  type MatmulKernel,
  packMatmulDims,
} from '../kernels/matmul/matmul-kernel.ts'
import type { CallDeadline } from './call-deadline.ts'
import type { DeviceSession } from './device-session.ts'
import type { MatmulRequest } from './kernel-types.ts'

/** Everything one matmul run needs; shapes and limits are already validated. */
export type RunMatmulInput = {
  session: DeviceSession
  pipeline: GPUComputePipeline
  kernel: MatmulKernel
  request: MatmulRequest
  deadline: CallDeadline
  /** Largest workgroup count per axis in one dispatch. */
  maxWorkgroupsPerDimension: number
}

function describeGpuError(error: GPUError | null | undefined): string | undefined {
  return error ? `${error.constructor.name}: ${error.message}` : undefined
}

/**
 * Upload A and B, run the kernel over C in as many dispatches as the limits require,
 * read C back. Waits race the call's deadline and device loss; every buffer is
 * destroyed in `finally`, including when the caller stopped waiting.
 */
export async function runMatmul({
  session,
  pipeline,
  kernel,
  request,
  deadline,
  maxWorkgroupsPerDimension,
}: RunMatmulInput): Promise<Float32Array<ArrayBuffer>> {
  const { device } = session
  const { a, b, m, k, n } = request
  const dispatches = planMatmulDispatches(m, n, kernel, maxWorkgroupsPerDimension)
  const uniformStride = Math.max(MATMUL_DIMS_BYTES, device.limits.minUniformBufferOffsetAlignment)
  const buffers: GPUBuffer[] = []
  const createBuffer = (label: string, size: number, usage: GPUBufferUsageFlags): GPUBuffer => {
    const buffer = device.createBuffer({ label: `tabswarm-matmul-${label}`, size, usage })
    buffers.push(buffer)
    return buffer
  }
  const waitFor = <T>(work: Promise<T>): Promise<T> =>
    deadline.race(Promise.race([work, session.lost]))

  try {
    deadline.throwIfCancelled()
    // Error scopes catch validation and out-of-memory errors of exactly this run's
    // synchronous calls; popping in `finally` keeps the device's scope stack balanced.
    device.pushErrorScope('out-of-memory')
    device.pushErrorScope('validation')
    let scopes: Promise<(GPUError | null)[]>
    let readback: GPUBuffer
    try {
      const storage = GPUBufferUsage.STORAGE
      const aBuffer = createBuffer('a', a.byteLength, storage | GPUBufferUsage.COPY_DST)
      const bBuffer = createBuffer('b', b.byteLength, storage | GPUBufferUsage.COPY_DST)
      const cBuffer = createBuffer('c', m * n * 4, storage | GPUBufferUsage.COPY_SRC)
      readback = createBuffer(
        'readback',
        m * n * 4,
        GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      )
      const uniforms = createBuffer(
        'dims',
        uniformStride * dispatches.length,
        GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      )
      device.queue.writeBuffer(aBuffer, 0, a)
      device.queue.writeBuffer(bBuffer, 0, b)

      const encoder = device.createCommandEncoder({ label: 'tabswarm-matmul' })
      const pass = encoder.beginComputePass()
      pass.setPipeline(pipeline)
      dispatches.forEach((dispatch, i) => {
        const offset = i * uniformStride
        device.queue.writeBuffer(
          uniforms,
          offset,
          packMatmulDims(m, k, n, dispatch.offsetX, dispatch.offsetY),
        )
        const bindGroup = device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: aBuffer } },
            { binding: 1, resource: { buffer: bBuffer } },
            { binding: 2, resource: { buffer: cBuffer } },
            { binding: 3, resource: { buffer: uniforms, offset, size: MATMUL_DIMS_BYTES } },
          ],
        })
        pass.setBindGroup(0, bindGroup)
        pass.dispatchWorkgroups(dispatch.countX, dispatch.countY)
      })
      pass.end()
      encoder.copyBufferToBuffer(cBuffer, 0, readback, 0, m * n * 4)
      device.queue.submit([encoder.finish()])
    } finally {
      scopes = Promise.all([device.popErrorScope(), device.popErrorScope()])
      scopes.catch(() => {})
    }

    const mapped = readback.mapAsync(GPUMapMode.READ)
    // The map is abandoned when the scopes wait fails (loss, deadline); mark it handled
    // so its rejection is not reported as unhandled. Awaiting it below still rejects.
    mapped.catch(() => {})
    const [validation, outOfMemory] = await waitFor(scopes)
    if (validation || outOfMemory) {
      throw new KernelExecutionError(`The ${kernel.variant} matmul failed on the GPU.`, {
        details: describeGpuError(validation) ?? describeGpuError(outOfMemory) ?? '',
      })
    }
    try {
      await waitFor(mapped)
    } catch (cause) {
      // Device loss can reject the map before `lost` settles; report the loss, not the map.
      const lostError = session.lostError()
      if (lostError) throw lostError
      throw cause instanceof TabswarmError
        ? cause
        : new KernelExecutionError('Reading the matmul result back failed.', { cause })
    }
    // Copy out of the mapped range: it is detached on unmap/destroy.
    const result = new Float32Array(readback.getMappedRange().slice(0))
    readback.unmap()
    return result
  } finally {
    for (const buffer of buffers) buffer.destroy()
  }
}
