import { createKernelHost, type KernelHost, type KernelHostOptions } from '../host/kernel-host.ts'
import { createNodeGpu, type NodeGpuOptions } from './create-node-gpu.ts'

/** Options of `createNodeKernelHost`: the host's, minus `gpu`, plus dawn's. */
export type NodeKernelHostOptions = Omit<KernelHostOptions, 'gpu'> & NodeGpuOptions

/**
 * A kernel host on dawn.node: `createKernelHost({ gpu: createNodeGpu() })`.
 * Rejects with `GpuUnavailableError` when Dawn finds no adapter.
 *
 * @example
 * const host = await createNodeKernelHost()
 * const c = await host.run({ kernel: 'matmul', a, b, m, k, n })
 */
export function createNodeKernelHost(options: NodeKernelHostOptions = {}): Promise<KernelHost> {
  const { dawnOptions, ...hostOptions } = options
  const gpu = createNodeGpu(dawnOptions ? { dawnOptions } : {})
  return createKernelHost({ ...hostOptions, gpu })
}
