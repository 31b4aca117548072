/**
 * The kernel suite's page: starts the kernel worker the way the contributor page does
 * (module worker, comlink, typed errors), and lets Playwright run the cases of
 * `kernel-cases.ts` one by one through `window.kernelSuite`.
 */
import {
  type HostInfo,
  type KernelWorkerApi,
  registerErrorTransferHandler,
} from '@tabswarm/worker-kernels'
import { wrap } from 'comlink'
import { runDeviceLossCase } from './device-loss-case.ts'
import { type GpuShareMeasurement, measureGpuShare } from './gpu-share-case.ts'
import { runHostileKernelCase } from './hostile-kernel-case.ts'
import { type CaseOutcome, KERNEL_CASES, type KernelWorker } from './kernel-cases.ts'

/** The page's API, as `window.kernelSuite`. */
export interface KernelSuitePage {
  /** Acquire the worker's GPU and describe it. */
  init(): Promise<HostInfo>
  /** Run one case by name; failures of the case itself come back as `ok: false`. */
  run(name: string): Promise<CaseOutcome>
  /** Lose the GPU device under a call in a worker of its own (see `device-loss-case.ts`). */
  deviceLoss(): Promise<CaseOutcome>
  /** An endless kernel, then an innocent one, in respawning workers (see `hostile-kernel-case.ts`). */
  hostileKernel(): Promise<CaseOutcome>
  /** Matmuls under a GPU share for about `windowMs`, on the page's own device (see `gpu-share-case.ts`). */
  gpuShare(share: number, windowMs: number): Promise<GpuShareMeasurement>
}

declare global {
  interface Window {
    kernelSuite: KernelSuitePage
  }
}

registerErrorTransferHandler()
const worker = new Worker(new URL('./kernel-suite-worker.ts', import.meta.url), {
  type: 'module',
  name: 'tabswarm-kernels',
})
const api = wrap<KernelWorkerApi>(worker)

/** The case's own outcome, or `ok: false` naming what it threw. */
async function outcomeOf(work: () => Promise<CaseOutcome>): Promise<CaseOutcome> {
  try {
    return await work()
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err))
    return { ok: false, detail: `threw ${e.name}: ${e.message}` }
  }
}

window.kernelSuite = {
  init: () => api.init(),
  async run(name) {
    const found = KERNEL_CASES.find((c) => c.name === name)
    if (!found) return { ok: false, detail: `no case named ${JSON.stringify(name)}` }
    return outcomeOf(() => found.run(api as unknown as KernelWorker))
  },
  deviceLoss: () => outcomeOf(runDeviceLossCase),
  hostileKernel: () => outcomeOf(runHostileKernelCase),
  gpuShare: measureGpuShare,
}
