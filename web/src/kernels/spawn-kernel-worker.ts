import {
  createRespawningKernelWorker,
  type DeviceLostDetails,
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
  /**
   * Told when the worker was replaced because a call ran past its deadline (its device may
   * still be busy with that kernel, so the old worker is left to it: see
   * `createRespawningKernelWorker`'s `retire`).
   */
  onRespawn?: (reason: string) => void
}

/** A running kernel worker and the page's bounded, cancellable way to call it. */
export type SpawnedKernelWorker = {
  /** Calls go to the current worker, before and after a respawn. */
  client: KernelWorkerClient
  /** How many times the worker was replaced. */
  readonly respawns: number
  /** Stop the worker; its pending calls reject with `KernelAbortedError` at once. */
  terminate(): void
}

/**
 * Starts the kernel worker. GPU work never runs on the page's thread, and the page keeps
 * the libp2p node (RTCPeerConnection does not exist in workers). A kernel that runs past
 * its deadline gets the worker replaced, so the next task does not queue behind it on the
 * same device.
 */
export function spawnKernelWorker(options: SpawnKernelWorkerOptions = {}): SpawnedKernelWorker {
  // Typed kernel errors (DeviceLostError, KernelTimeoutError, ...) cross the boundary intact.
  registerErrorTransferHandler()
  // A worker that dies without being terminated (crash, failed load) is caught by each
  // call's page-side deadline: its 'error' event also fires for errors it survives.
  return createRespawningKernelWorker({
    spawn: () => {
      const worker = new Worker(new URL('./kernel-worker.ts', import.meta.url), {
        type: 'module',
        name: 'tabswarm-kernels',
      })
      return {
        // comlink's Remote drops `run`'s generic; the client restores the result types.
        remote: wrap<KernelWorkerApi>(worker) as unknown as KernelWorkerRemote,
        terminate: () => worker.terminate(),
      }
    },
    ...(options.onDeviceLost ? { onDeviceLost: options.onDeviceLost } : {}),
    ...(options.onRespawn ? { onRespawn: options.onRespawn } : {}),
  })
}
