import {
  createKernelWorkerClient,
  type DeviceLostDetails,
  KernelAbortedError,
  type KernelWorkerApi,
  type KernelWorkerClient,
  type KernelWorkerRemote,
  registerErrorTransferHandler,
} from '@tabswarm/worker-kernels'
import { wrap } from 'comlink'

/** Options of `spawnKernelWorker`. */
export type SpawnKernelWorkerOptions = {
  /** Told when the worker's GPU device is lost; the worker gets a new one by itself. */
  onDeviceLost?: (details: DeviceLostDetails) => void
}

/** A running kernel worker and the page's bounded, cancellable way to call it. */
export type SpawnedKernelWorker = {
  client: KernelWorkerClient
  /** Stop the worker; its pending calls reject with `KernelAbortedError` at once. */
  terminate(): void
}

/**
 * Starts the kernel worker. GPU work never runs on the page's thread, and the page keeps
 * the libp2p node (RTCPeerConnection does not exist in workers).
 */
export function spawnKernelWorker(options: SpawnKernelWorkerOptions = {}): SpawnedKernelWorker {
  // Typed kernel errors (DeviceLostError, KernelTimeoutError, ...) cross the boundary intact.
  registerErrorTransferHandler()
  const worker = new Worker(new URL('./kernel-worker.ts', import.meta.url), {
    type: 'module',
    name: 'tabswarm-kernels',
  })
  const client = createKernelWorkerClient({
    // comlink's Remote drops `run`'s generic; the client restores the result types.
    remote: wrap<KernelWorkerApi>(worker) as unknown as KernelWorkerRemote,
    ...(options.onDeviceLost ? { onDeviceLost: options.onDeviceLost } : {}),
  })
  // A worker that dies without being terminated (crash, failed load) is caught by each
  // call's page-side deadline: its 'error' event also fires for errors it survives.
  return {
    client,
    terminate() {
      worker.terminate()
      client.close(new KernelAbortedError('The kernel worker was terminated.'))
    },
  }
}
