import { KernelExecutionError } from '../errors.ts'
import type { MatmulKernel, MatmulVariant } from '../kernels/matmul/matmul-kernel.ts'

/** Compiled pipelines of one device, one per kernel variant. */
export type PipelineCache = {
  /** The pipeline for `kernel`, compiled on first use. Rejects with `KernelExecutionError`. */
  get(kernel: MatmulKernel): Promise<GPUComputePipeline>
}

/**
 * Cache compute pipelines by variant for the life of one device. Compilation is
 * asynchronous so a big shader never blocks the worker's event loop, and the promise is
 * cached so concurrent first calls compile once. A failed compile is evicted, so a
 * transient failure does not poison the cache.
 */
export function createPipelineCache(device: GPUDevice): PipelineCache {
  const pipelines = new Map<MatmulVariant, Promise<GPUComputePipeline>>()
  return {
    get(kernel) {
      const cached = pipelines.get(kernel.variant)
      if (cached) return cached
      const label = `tabswarm-matmul-${kernel.variant}`
      const module = device.createShaderModule({ label, code: kernel.code })
      const pipeline = device
        .createComputePipelineAsync({
          label,
          layout: 'auto',
          compute: { module, entryPoint: 'main' },
        })
        .catch((cause: unknown) => {
          pipelines.delete(kernel.variant)
          throw new KernelExecutionError(`Compiling the ${kernel.variant} matmul kernel failed.`, {
            cause,
            details: cause instanceof Error ? cause.message : String(cause),
          })
        })
      pipelines.set(kernel.variant, pipeline)
      return pipeline
    },
  }
}
