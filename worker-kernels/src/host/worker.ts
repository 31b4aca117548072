/**
 * Web Worker entry of the kernel host. The page creates it with
 * `new Worker(new URL('@tabswarm/worker-kernels/worker', import.meta.url), { type: 'module' })`,
 * wraps it with comlink as `KernelWorkerApi`, and should call
 * `registerErrorTransferHandler()` to get thrown errors back as their subclasses.
 */
import { createKernelWorkerApi, exposeKernelWorker } from './kernel-worker-api.ts'

export type { KernelWorkerApi } from './kernel-types.ts'

// Read defensively: `navigator.gpu` is missing where WebGPU is off, and init() reports that.
const gpu = (globalThis.navigator as Partial<Navigator> | undefined)?.gpu

exposeKernelWorker(createKernelWorkerApi({ gpu }))
