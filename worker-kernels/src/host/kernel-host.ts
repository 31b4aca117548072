import { DEFAULT_KERNEL_TIMEOUT_MS, DEFAULT_POWER_PREFERENCE } from '../constants.ts'
import { KernelAbortedError, KernelShapeError } from '../errors.ts'
import { matmulTiledKernel } from '../kernels/matmul/matmul.wgsl.ts'
import type { MatmulKernel, MatmulVariant } from '../kernels/matmul/matmul-kernel.ts'
import { matmulNaiveKernel } from '../kernels/matmul/matmul-naive.wgsl.ts'
import { assertMatmulShape } from '../kernels/matmul/matmul-shape.ts'
import { createCallDeadline } from './call-deadline.ts'
import { acquireDeviceSession, type DeviceSession } from './device-session.ts'
import type {
  DeviceLostDetails,
  HostInfo,
  KernelRunOptions,
  MatmulRequest,
} from './kernel-types.ts'
import { assertMatmulFitsLimits } from './matmul-limits.ts'
import { runMatmul } from './run-matmul.ts'

/** Options of `createKernelHost`. */
export type KernelHostOptions = {
  /** The WebGPU entry point: `navigator.gpu` in a browser, `createNodeGpu()` in Node. */
  gpu: GPU
  /** @default 'high-performance' */
  powerPreference?: GPUPowerPreference
  /**
   * Called when the device is lost (not when the host destroys it). Calls pending at
   * that moment reject with `DeviceLostError`; the next call acquires a new device.
   */
  onDeviceLost?: (details: DeviceLostDetails) => void
  /**
   * Default deadline of each call, overridable per call.
   * @default DEFAULT_KERNEL_TIMEOUT_MS (60 s)
   */
  timeoutMs?: number
  /**
   * Cap on workgroups per axis in one dispatch, below the adapter's
   * `maxComputeWorkgroupsPerDimension`. Smaller dispatches keep each one short of
   * GPU watchdogs on slow adapters.
   * @default the adapter's limit
   */
  maxWorkgroupsPerDimension?: number
}

/** A GPU device with the Tabswarm kernels on it. Create with `createKernelHost`. */
export type KernelHost = {
  /** The current device's description (updated when a lost device is replaced). */
  readonly info: HostInfo
  /**
   * `C[m×n] = A[m×k] · B[k×n]`, row-major f32. Rejects with `KernelShapeError`,
   * `KernelLimitError`, `KernelTimeoutError`, `KernelAbortedError`, `DeviceLostError`,
   * `GpuUnavailableError` or `KernelExecutionError`.
   */
  matmul(request: MatmulRequest, options?: KernelRunOptions): Promise<Float32Array<ArrayBuffer>>
  /** Destroy the device. Pending and later calls reject with `KernelAbortedError`. */
  destroy(): void
}

const kernels: Record<MatmulVariant, MatmulKernel> = {
  tiled: matmulTiledKernel,
  naive: matmulNaiveKernel,
}

function kernelFor(variant: unknown): MatmulKernel {
  const kernel =
    typeof variant === 'string' && Object.hasOwn(kernels, variant)
      ? kernels[variant as MatmulVariant]
      : undefined
  if (!kernel) {
    throw new KernelShapeError(
      `variant must be one of ${Object.keys(kernels).join(', ')}, got ${String(variant)}.`,
    )
  }
  return kernel
}

/**
 * Acquire a WebGPU device and return a host that runs kernels on it: one device per
 * host, pipelines compiled once per variant, every call validated before anything is
 * allocated and bounded by a deadline. Rejects with `GpuUnavailableError` if there is
 * no adapter or device.
 *
 * @example
 * const host = await createKernelHost({ gpu: navigator.gpu })
 * const c = await host.matmul({ a, b, m: 64, k: 32, n: 16 }, { signal })
 * host.destroy()
 */
export async function createKernelHost(options: KernelHostOptions): Promise<KernelHost> {
  const { gpu, onDeviceLost } = options
  const powerPreference = options.powerPreference ?? DEFAULT_POWER_PREFERENCE
  const defaultTimeoutMs = options.timeoutMs ?? DEFAULT_KERNEL_TIMEOUT_MS
  let destroyed = false
  let session: DeviceSession | undefined
  let acquiring: Promise<DeviceSession> | undefined

  const acquire = async (): Promise<DeviceSession> => {
    const next = await acquireDeviceSession({
      gpu,
      powerPreference,
      onLost: (details) => {
        // Drop the dead session so the next call acquires a fresh device lazily.
        if (session === next) session = undefined
        onDeviceLost?.(details)
      },
    })
    if (destroyed) {
      next.destroy()
      throw new KernelAbortedError('Kernel host was destroyed.')
    }
    session = next
    return next
  }

  const currentSession = (): Promise<DeviceSession> => {
    if (session && !session.lostError()) return Promise.resolve(session)
    acquiring ??= acquire().finally(() => {
      acquiring = undefined
    })
    return acquiring
  }

  let info = (await currentSession()).info

  return {
    get info() {
      return session?.info ?? info
    },

    async matmul(request, runOptions = {}) {
      if (destroyed) throw new KernelAbortedError('Kernel host was destroyed.')
      assertMatmulShape(request)
      const kernel = kernelFor(request.variant ?? 'tiled')
      const deadline = createCallDeadline({
        signal: runOptions.signal,
        timeoutMs: runOptions.timeoutMs ?? defaultTimeoutMs,
      })
      try {
        const active = await deadline.race(currentSession())
        info = active.info
        assertMatmulFitsLimits(request, active.info.limits)
        const pipeline = await deadline.race(
          Promise.race([active.pipelines.get(kernel), active.lost]),
        )
        return await runMatmul({
          session: active,
          pipeline,
          kernel,
          request,
          deadline,
          maxWorkgroupsPerDimension: Math.min(
            active.info.limits.maxComputeWorkgroupsPerDimension,
            options.maxWorkgroupsPerDimension ?? Number.POSITIVE_INFINITY,
          ),
        })
      } finally {
        deadline.dispose()
      }
    },

    destroy() {
      destroyed = true
      session?.destroy()
      session = undefined
    },
  }
}
