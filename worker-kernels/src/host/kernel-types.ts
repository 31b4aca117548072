/**
 * Plain types of the kernel host and its worker API. No runtime code lives here, so a
 * page can `import type` them without pulling in GPU code.
 */
import type { MatmulVariant } from '../kernels/matmul/matmul-kernel.ts'

export type { MatmulVariant }

/** `C[m×n] = A[m×k] · B[k×n]`, all f32 row-major (C order). */
export type MatmulRequest = {
  /** A, `m*k` elements. */
  a: Float32Array
  /** B, `k*n` elements. */
  b: Float32Array
  m: number
  k: number
  n: number
  /**
   * Which kernel runs it.
   * @default 'tiled'
   */
  variant?: MatmulVariant
}

/** Cancellation of one kernel call. */
export type KernelRunOptions = {
  /** Aborts the call: it rejects with `KernelAbortedError` (or `KernelTimeoutError` for `AbortSignal.timeout`). */
  signal?: AbortSignal
  /**
   * Deadline for the whole call, device acquisition included; rejects with `KernelTimeoutError`.
   * @default DEFAULT_KERNEL_TIMEOUT_MS (60 s), or the host's `timeoutMs`
   */
  timeoutMs?: number
}

/** The device limits that decide what a host can run. */
export type HostLimits = {
  maxComputeWorkgroupStorageSize: number
  maxStorageBufferBindingSize: number
  maxBufferSize: number
  maxComputeInvocationsPerWorkgroup: number
  maxComputeWorkgroupsPerDimension: number
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
 * The API a kernel Web Worker exposes through comlink. Errors it throws arrive as
 * `Error`s carrying `name` and `code` (see `errorTransferHandler`).
 *
 * @example
 * const api = wrap<KernelWorkerApi>(new Worker(workerUrl, { type: 'module' }))
 * const info = await api.init()
 */
export type KernelWorkerApi = {
  /** Acquire the GPU (idempotent) and describe it. Rejects with `GpuUnavailableError`. */
  init(): Promise<HostInfo>
  /** Run a matmul; the result's buffer is transferred, not copied. Lazily inits. */
  matmul(request: MatmulRequest, options?: { timeoutMs?: number }): Promise<Float32Array>
  /** Release the device; pending calls reject with `KernelAbortedError`. */
  dispose(): Promise<void>
}
