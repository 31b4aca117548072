import { type Endpoint, expose, transfer } from 'comlink'
import { GpuUnavailableError } from '../errors.ts'
import type { KernelResult } from '../kernels/kernel-request.ts'
import { registerErrorTransferHandler } from './error-transfer-handler.ts'
import { createKernelHost, type KernelHost } from './kernel-host.ts'
import type { KernelWorkerApi } from './kernel-types.ts'

/** Options of `createKernelWorkerApi`. */
export type KernelWorkerApiOptions = {
  /** `navigator.gpu` of the worker; `undefined` where WebGPU is missing. */
  gpu: GPU | undefined
  /** @default 'high-performance' */
  powerPreference?: GPUPowerPreference
}

/**
 * The object a kernel worker exposes: a lazily created `KernelHost` behind the
 * `KernelWorkerApi` calls. Kept apart from the worker entry so it can be tested over
 * a `MessageChannel` in Node.
 */
export function createKernelWorkerApi(options: KernelWorkerApiOptions): KernelWorkerApi {
  let host: Promise<KernelHost> | undefined

  const getHost = (): Promise<KernelHost> => {
    const { gpu } = options
    if (!gpu) {
      return Promise.reject(
        new GpuUnavailableError(
          'WebGPU is not available in this worker (navigator.gpu is undefined).',
        ),
      )
    }
    host ??= createKernelHost({
      gpu,
      ...(options.powerPreference ? { powerPreference: options.powerPreference } : {}),
    }).catch((err: unknown) => {
      // Let a later init() retry, e.g. after the user enables WebGPU.
      host = undefined
      throw err
    })
    return host
  }

  return {
    async init() {
      return (await getHost()).info
    },
    async matmul(request, callOptions = {}) {
      const result = await (await getHost()).matmul(
        request,
        callOptions.timeoutMs === undefined ? {} : { timeoutMs: callOptions.timeoutMs },
      )
      // Hand the result's memory to the page instead of copying it.
      return transfer(result, [result.buffer])
    },
    async run(request, callOptions = {}) {
      const result: KernelResult = await (await getHost()).run(
        request,
        callOptions.timeoutMs === undefined ? {} : { timeoutMs: callOptions.timeoutMs },
      )
      const views = Array.isArray(result) ? result : [result]
      return transfer(result, [
        ...new Set(views.map((view) => view.buffer as ArrayBuffer)),
      ]) as never
    },
    async dispose() {
      const current = host
      host = undefined
      const settled = await current?.catch(() => undefined)
      settled?.destroy()
    },
  }
}

/**
 * Expose `api` on `endpoint` (the worker's global scope by default) with the error
 * transfer handler installed, so thrown errors keep their `name` and `code`.
 */
export function exposeKernelWorker(api: KernelWorkerApi, endpoint?: Endpoint): void {
  registerErrorTransferHandler()
  expose(api, endpoint)
}
