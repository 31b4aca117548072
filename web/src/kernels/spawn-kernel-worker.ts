import {
  createRespawningKernelWorker,
  type DeviceLostDetails,
  type KernelWorkerApi,
  type KernelWorkerClient,
  type KernelWorkerRemote,
  type KernelWorkersWedgedError,
  registerErrorTransferHandler,
  type SpawnedWorker,
} from '@tabswarm/worker-kernels'
import { wrap } from 'comlink'
// The built worker's URL, relative to this module's own (the relay's, for the widget).
import kernelWorkerUrl from './kernel-worker.ts?worker&url'
import { startModuleWorker } from './module-worker.ts'

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
  /**
   * Told once when this page has left as many replaced workers running as it may
   * (`maxAbandoned`): no kernel runs in this tab any more, until it is reloaded.
   */
  onWedged?: (error: KernelWorkersWedgedError) => void
  /**
   * The most replaced workers this page leaves running, over all its runs (Stop, then
   * Start): each keeps running the kernel it was replaced for, and with it a core of the
   * GPU process on a software adapter, until the page is closed.
   * @default DEFAULT_MAX_ABANDONED_WORKERS (2)
   */
  maxAbandoned?: number
}

/**
 * The workers this page abandoned, in every run: referenced here so they stay alive (see
 * `retire`) and counted against `maxAbandoned` once for the page, not once per run.
 */
const abandonedOnThisPage: SpawnedWorker[] = []

/** A running kernel worker and the page's bounded, cancellable way to call it. */
export type SpawnedKernelWorker = {
  /** Calls go to the current worker, before and after a respawn. */
  client: KernelWorkerClient
  /** How many times the worker was replaced. */
  readonly respawns: number
  /** Set once this page may start no more kernel workers; every call fails with it. */
  readonly wedged: KernelWorkersWedgedError | undefined
  /** Stop the worker; its pending calls reject with `KernelAbortedError` at once. */
  terminate(): void
}

/**
 * Starts the kernel worker. GPU work never runs on the page's thread, and the page keeps
 * the libp2p node (RTCPeerConnection does not exist in workers). A kernel that runs past
 * its deadline gets the worker replaced, so the next task does not queue behind it on the
 * same device, up to `maxAbandoned` times in the page's life; after that every call fails
 * with `KernelWorkersWedgedError` and `onWedged` is told.
 */
export function spawnKernelWorker(options: SpawnKernelWorkerOptions = {}): SpawnedKernelWorker {
  // Typed kernel errors (DeviceLostError, KernelTimeoutError, ...) cross the boundary intact.
  registerErrorTransferHandler()
  // A worker that dies without being terminated (crash, failed load) is caught by each
  // call's page-side deadline: its 'error' event also fires for errors it survives.
  return createRespawningKernelWorker({
    spawn: () => {
      const worker = startModuleWorker(kernelWorkerUrl, 'tabswarm-kernels')
      return {
        // comlink's Remote drops `run`'s generic; the client restores the result types.
        remote: wrap<KernelWorkerApi>(worker) as unknown as KernelWorkerRemote,
        terminate: () => worker.terminate(),
      }
    },
    ...(options.onDeviceLost ? { onDeviceLost: options.onDeviceLost } : {}),
    ...(options.onRespawn ? { onRespawn: options.onRespawn } : {}),
    ...(options.onWedged ? { onWedged: options.onWedged } : {}),
    ...(options.maxAbandoned != null ? { maxAbandoned: options.maxAbandoned } : {}),
    abandoned: abandonedOnThisPage,
  })
}
