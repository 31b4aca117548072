import { type Endpoint, expose, transfer } from 'comlink'
import { GpuUnavailableError, KernelShapeError } from '../errors.ts'
import type { KernelResult } from '../kernels/kernel-request.ts'
import { registerErrorTransferHandler } from './error-transfer-handler.ts'
import { createKernelHost, type KernelHost } from './kernel-host.ts'
import type {
  DeviceLostDetails,
  KernelRunOptions,
  KernelWorkerApi,
  KernelWorkerCallOptions,
} from './kernel-types.ts'

/** Longest `callId` a worker accepts: ids are names, not payloads. */
export const MAX_CALL_ID_LENGTH = 128

/** Options of `createKernelWorkerApi`. */
export type KernelWorkerApiOptions = {
  /** `navigator.gpu` of the worker; `undefined` where WebGPU is missing. */
  gpu: GPU | undefined
  /** @default 'high-performance' */
  powerPreference?: GPUPowerPreference
}

/** Check the options a page sent; they arrive by `postMessage`, so nothing is assumed. */
function parseCallOptions(options: unknown): KernelWorkerCallOptions {
  if (options === undefined) return {}
  if (typeof options !== 'object' || options === null) {
    throw new KernelShapeError('Call options must be an object.')
  }
  const { timeoutMs, callId, gpuShare } = options as Record<string, unknown>
  if (timeoutMs !== undefined && typeof timeoutMs !== 'number') {
    throw new KernelShapeError(`timeoutMs must be a number, got ${typeof timeoutMs}.`)
  }
  if (
    callId !== undefined &&
    (typeof callId !== 'string' || callId.length === 0 || callId.length > MAX_CALL_ID_LENGTH)
  ) {
    throw new KernelShapeError(`callId must be a string of 1 to ${MAX_CALL_ID_LENGTH} characters.`)
  }
  if (gpuShare !== undefined && typeof gpuShare !== 'number') {
    throw new KernelShapeError(`gpuShare must be a number, got ${typeof gpuShare}.`)
  }
  return {
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(callId === undefined ? {} : { callId }),
    ...(gpuShare === undefined ? {} : { gpuShare }),
  }
}

/**
 * The object a kernel worker exposes: a lazily created `KernelHost` behind the
 * `KernelWorkerApi` calls, with per-call cancellation by id and a device-loss listener
 * the page can pass in. Kept apart from the worker entry so it can be tested over a
 * `MessageChannel` in Node.
 */
export function createKernelWorkerApi(options: KernelWorkerApiOptions): KernelWorkerApi {
  let host: Promise<KernelHost> | undefined
  let deviceLostListener: ((details: DeviceLostDetails) => unknown) | undefined
  /** Calls in flight that named themselves, by `callId`. */
  const inFlight = new Map<string, AbortController>()

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
      onDeviceLost: (details) => {
        // A comlink proxy returns a promise that rejects if the page has gone: ignore it.
        Promise.resolve(deviceLostListener?.(details)).catch(() => {})
      },
    }).catch((err: unknown) => {
      // Let a later init() retry, e.g. after the user enables WebGPU.
      host = undefined
      throw err
    })
    return host
  }

  /** Run `work` with the signal of its `callId`, if it has one; forget the id after. */
  const withCancellation = async <T>(
    rawOptions: unknown,
    work: (host: KernelHost, runOptions: KernelRunOptions) => Promise<T>,
  ): Promise<T> => {
    const { timeoutMs, callId, gpuShare } = parseCallOptions(rawOptions)
    if (callId !== undefined && inFlight.has(callId)) {
      throw new KernelShapeError(`callId ${JSON.stringify(callId)} is already in flight.`)
    }
    const controller = new AbortController()
    if (callId !== undefined) inFlight.set(callId, controller)
    try {
      const runOptions: KernelRunOptions = {
        signal: controller.signal,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        ...(gpuShare === undefined ? {} : { gpuShare }),
      }
      return await work(await getHost(), runOptions)
    } finally {
      if (callId !== undefined) inFlight.delete(callId)
    }
  }

  return {
    async init() {
      return (await getHost()).info
    },
    async run(request, callOptions) {
      const result: KernelResult = await withCancellation(callOptions, (h, runOptions) =>
        h.run(request, runOptions),
      )
      const views = Array.isArray(result) ? result : [result]
      // Hand the results' memory to the page instead of copying it.
      return transfer(result, [
        ...new Set(views.map((view) => view.buffer as ArrayBuffer)),
      ]) as never
    },
    async cancel(callId) {
      const controller = typeof callId === 'string' ? inFlight.get(callId) : undefined
      controller?.abort(new Error(`Call ${JSON.stringify(callId)} was cancelled by the page.`))
      return controller !== undefined
    },
    async setDeviceLostListener(listener) {
      if (listener !== undefined && typeof listener !== 'function') {
        throw new KernelShapeError('The device-lost listener must be a function (comlink proxy).')
      }
      deviceLostListener = listener
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
