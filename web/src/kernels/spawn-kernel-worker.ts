import { type KernelWorkerApi, registerErrorTransferHandler } from '@tabswarm/worker-kernels'
import { type Remote, wrap } from 'comlink'

/**
 * Starts the kernel worker. GPU work never runs on the page's thread, and the page keeps
 * the libp2p node (RTCPeerConnection does not exist in workers).
 */
export function spawnKernelWorker(): { api: Remote<KernelWorkerApi>; terminate(): void } {
  // Typed kernel errors (DeviceLostError, KernelTimeoutError, ...) cross the boundary intact.
  registerErrorTransferHandler()
  const worker = new Worker(new URL('./kernel-worker.ts', import.meta.url), {
    type: 'module',
    name: 'tabswarm-kernels',
  })
  return { api: wrap<KernelWorkerApi>(worker), terminate: () => worker.terminate() }
}
