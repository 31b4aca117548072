/**
 * Plain types of the kernel host and its worker API. No runtime code lives here, so a
 * page can `import type` them without pulling in GPU code.
 */
import type { KernelRequest, KernelResultOf } from '../kernels/kernel-request.ts'
import type { MatmulVariant } from '../kernels/matmul/matmul-kernel.ts'
import type { MatmulRequest } from '../kernels/matmul/matmul-request.ts'

export type { MatmulRequest, MatmulVariant }

/** Cancellation of one kernel call. */
export type KernelRunOptions = {
  /** Aborts the call: it rejects with `KernelAbortedError` (or `KernelTimeoutError` for `AbortSignal.timeout`). */
  signal?: AbortSignal
  /**
   * Deadline for the whole call, device acquisition included; rejects with `KernelTimeoutError`.
   * @default DEFAULT_KERNEL_TIMEOUT_MS (60 s), or the host's `timeoutMs`
   */
  timeoutMs?: number
  /**
   * Share of the GPU's time this call may use, from `MIN_GPU_SHARE` (0.1) to 1: the call
   * runs paced, in submissions of about `SUBMISSION_TARGET_MS` with rests between them
   * (see `gpu-pacer.ts`). Left out, it runs unpaced, submissions back to back.
   */
  gpuShare?: number
}

/** The device limits that decide what a host can run. */
export type HostLimits = {
  maxComputeWorkgroupStorageSize: number
  maxStorageBufferBindingSize: number
  maxBufferSize: number
  maxComputeInvocationsPerWorkgroup: number
  maxComputeWorkgroupsPerDimension: number
  maxStorageBuffersPerShaderStage: number
  maxUniformBufferBindingSize: number
  maxComputeWorkgroupSizeX: number
  maxComputeWorkgroupSizeY: number
  maxComputeWorkgroupSizeZ: number
}

/**
 * What a host reports about its GPU: plain data, safe to post across workers and peers.
 * The adapter fields come from `GPUAdapterInfo` and may be empty strings.
 */
export type HostInfo = {
  vendor: string
  architecture: string
  device: string
  description: string
  /** Adapter features, sorted. */
  features: string[]
  /** Features enabled on the host's device (`shader-f16` where the adapter has it), sorted. */
  deviceFeatures: string[]
  /** Limits of the device the host requested (the adapter's best for these). */
  limits: HostLimits
}

/** Why a device was lost, as passed to `onDeviceLost`. */
export type DeviceLostDetails = {
  /** `GPUDeviceLostReason`: `'destroyed'` or `'unknown'`. */
  reason: string
  message: string
}

/**
 * Options of one call into a kernel worker: plain data, since they cross `postMessage`.
 * An `AbortSignal` cannot cross it; `callId` plus `KernelWorkerApi.cancel` stands in.
 */
export type KernelWorkerCallOptions = {
  /** Deadline inside the worker; see `KernelRunOptions.timeoutMs`. */
  timeoutMs?: number
  /**
   * Names the call so `cancel(callId)` can abort it: at most `MAX_CALL_ID_LENGTH`
   * characters, unique among the calls in flight.
   */
  callId?: string
  /** See `KernelRunOptions.gpuShare`. */
  gpuShare?: number
}

/**
 * The API a kernel Web Worker exposes through comlink. Not a `KernelRunner`: what crosses
 * `postMessage` is plain data, so a call names itself with a `callId` (cancelled with
 * `cancel`) instead of carrying an `AbortSignal`, and a device-loss listener is a comlink
 * proxy. Errors it throws arrive as `Error`s carrying `name` and `code` (see
 * `errorTransferHandler`). Pages should use it through `createKernelWorkerClient`, a
 * `KernelRunner` that adds a deadline on the page's side (a dead worker never answers)
 * and turns an `AbortSignal` into `cancel`.
 *
 * @example
 * const api = wrap<KernelWorkerApi>(new Worker(workerUrl, { type: 'module' }))
 * const info = await api.init()
 */
export type KernelWorkerApi = {
  /** Acquire the GPU (idempotent) and describe it. Rejects with `GpuUnavailableError`. */
  init(): Promise<HostInfo>
  /**
   * Run any kernel (`KernelRequest`, discriminated by `kernel`), matmul and custom WGSL
   * included; lazily inits. Result buffers are transferred, not copied. Errors arrive
   * typed, `KernelCompileError` with its compiler messages (`messages`, each with line
   * and column).
   *
   * @example
   * const y = await api.run({ kernel: 'layer-norm', x, gamma, beta, rows, cols })
   */
  run<R extends KernelRequest>(
    request: R,
    options?: KernelWorkerCallOptions,
  ): Promise<KernelResultOf<R>>
  /**
   * Abort the call started with this `callId`: it rejects with `KernelAbortedError`.
   * Resolves to whether such a call was in flight (false once it has settled).
   */
  cancel(callId: string): Promise<boolean>
  /**
   * Be told when the worker's device is lost (the call in flight then rejects with
   * `DeviceLostError` and the next call gets a new device). Pass a function wrapped in
   * comlink's `proxy()`, or `undefined` to stop listening; replaces any earlier listener.
   */
  setDeviceLostListener(listener: ((details: DeviceLostDetails) => void) | undefined): Promise<void>
  /** Release the device; pending calls reject with `KernelAbortedError`. */
  dispose(): Promise<void>
}
