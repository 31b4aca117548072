import type { TabswarmError } from '@tabswarm/protocol'
import { DEFAULT_DEVICE_ACQUIRE_TIMEOUT_MS } from '../constants.ts'
import { DeviceLostError, GpuUnavailableError, KernelAbortedError } from '../errors.ts'
import { type BufferPool, type BufferPoolOptions, createBufferPool } from './buffer-pool.ts'
import { assertTimeoutMs, createCallDeadline } from './call-deadline.ts'
import { describeHost, HOST_LIMIT_NAMES } from './host-info.ts'
import type { DeviceLostDetails, HostInfo } from './kernel-types.ts'
import { createPipelineCache, type PipelineCache } from './pipeline-cache.ts'

/** One acquired device and what belongs to it; replaced wholesale when the device is lost. */
export type DeviceSession = {
  device: GPUDevice
  info: HostInfo
  pipelines: PipelineCache
  /** Reusable buffers of this device; emptied when the device is lost or destroyed. */
  pool: BufferPool
  /** Rejects (with `DeviceLostError`, or `KernelAbortedError` after `destroy`) once the device is lost. */
  lost: Promise<never>
  /** The error `lost` rejected with, once it has. */
  lostError(): TabswarmError | undefined
  /** Destroy the device on purpose: pending work rejects with `KernelAbortedError`. */
  destroy(): void
}

/** Options of `acquireDeviceSession`. */
export type AcquireDeviceOptions = {
  gpu: GPU
  powerPreference: GPUPowerPreference
  /**
   * Called once when this session's device is lost other than through `destroy()`,
   * with the session itself, so the owner can tell which session died even if the
   * loss is reported before `acquireDeviceSession` has resolved. An exception it
   * throws is caught and reported (`reportError` where there is one): a faulty
   * listener must not become an unhandled rejection that kills a Node contributor.
   */
  onLost: (session: DeviceSession, details: DeviceLostDetails) => void
  /** Bounds of the session's buffer pool. */
  pool?: BufferPoolOptions
  /**
   * Most milliseconds `requestAdapter` and `requestDevice` may take together (up to
   * 2³¹ − 1, or `Infinity` for no deadline): a wedged driver must not keep the host from
   * ever answering.
   * @default DEFAULT_DEVICE_ACQUIRE_TIMEOUT_MS (30 s)
   */
  timeoutMs?: number
}

/** Report an exception from a callback without throwing it into the caller's promise chain. */
function reportCallbackError(err: unknown): void {
  const report = (globalThis as { reportError?: (err: unknown) => void }).reportError
  report?.(err)
}

/**
 * Request an adapter, then a device with the adapter's best storage and workgroup
 * limits (the defaults cap bindings at 128 MiB, far below what most adapters allow),
 * both within one deadline of `timeoutMs`. A device that arrives after the
 * deadline has nobody to use it and is destroyed.
 */
async function requestAdapterAndDevice(
  gpu: GPU,
  powerPreference: GPUPowerPreference,
  timeoutMs: number,
): Promise<{ adapter: GPUAdapter; device: GPUDevice }> {
  let step = 'requestAdapter()'
  const deadline = createCallDeadline({
    timeoutMs,
    timeoutError: () =>
      new GpuUnavailableError(
        `${step} did not answer within ${timeoutMs} ms of starting to acquire a GPU.`,
        { details: 'The driver or browser GPU process may be wedged; a later call tries again.' },
      ),
  })
  try {
    let adapter: GPUAdapter | null
    try {
      adapter = await deadline.race(
        Promise.resolve().then(() => gpu.requestAdapter({ powerPreference })),
      )
    } catch (cause) {
      if (cause instanceof GpuUnavailableError) throw cause
      throw new GpuUnavailableError('Requesting a WebGPU adapter failed.', { cause })
    }
    if (!adapter) {
      throw new GpuUnavailableError('No WebGPU adapter is available.', {
        details:
          'requestAdapter() returned null. Browsers need WebGPU enabled; headless Chromium needs --enable-unsafe-webgpu and a software adapter; Node needs a Vulkan driver (see createNodeGpu).',
      })
    }
    const requiredLimits: Record<string, number> = {}
    for (const name of HOST_LIMIT_NAMES) requiredLimits[name] = adapter.limits[name]
    // Requested where the adapter has it so f16 WGSL can be enabled on this device: float16
    // matmuls then multiply in f16 (`selectMatmulCompute`); without it every built-in kernel
    // still runs (f16 packed with core built-ins, f32 arithmetic). The device's features are
    // reported in `HostInfo.deviceFeatures`, for callers and custom kernels to check.
    const requiredFeatures: GPUFeatureName[] = adapter.features.has('shader-f16')
      ? ['shader-f16']
      : []
    step = 'requestDevice()'
    const requested = adapter
    const requesting = Promise.resolve().then(() =>
      requested.requestDevice({ label: 'tabswarm-kernel-host', requiredLimits, requiredFeatures }),
    )
    try {
      return { adapter, device: await deadline.race(requesting) }
    } catch (cause) {
      if (deadline.cancelled) {
        requesting.then(
          (late) => late.destroy(),
          () => {},
        )
      }
      if (cause instanceof GpuUnavailableError) throw cause
      throw new GpuUnavailableError('Requesting a WebGPU device failed.', { cause })
    }
  } finally {
    deadline.dispose()
  }
}

/**
 * Acquire a device (see `requestAdapterAndDevice`) and what belongs to it.
 * Throws `GpuUnavailableError` when either request fails, takes longer than
 * `timeoutMs`, or yields a device that is already lost.
 */
export async function acquireDeviceSession({
  gpu,
  powerPreference,
  onLost,
  pool: poolOptions,
  timeoutMs = DEFAULT_DEVICE_ACQUIRE_TIMEOUT_MS,
}: AcquireDeviceOptions): Promise<DeviceSession> {
  assertTimeoutMs(timeoutMs, 'acquireTimeoutMs')
  const { adapter, device } = await requestAdapterAndDevice(gpu, powerPreference, timeoutMs)

  // requestDevice may hand back a device that is already lost (an adapter consumed by an
  // earlier device, a GPU process that just crashed). Its `lost` promise is then already
  // settled, so racing it against an already-resolved promise, listed second, tells.
  const lostAtOnce = await Promise.race([device.lost, Promise.resolve(undefined)])
  if (lostAtOnce) {
    throw new GpuUnavailableError(
      `The new WebGPU device was already lost (${lostAtOnce.reason}).`,
      { details: lostAtOnce.message },
    )
  }

  let destroyedOnPurpose = false
  let lostError: TabswarmError | undefined
  let rejectLost: (err: TabswarmError) => void = () => {}
  const lost = new Promise<never>((_, reject) => {
    rejectLost = reject
  })
  lost.catch(() => {})
  const pool = createBufferPool(device, poolOptions)
  // Built before the loss handler is attached, so the handler can always name it.
  const session: DeviceSession = {
    device,
    info: describeHost(adapter, device),
    pipelines: createPipelineCache(device),
    pool,
    lost,
    lostError: () => lostError,
    destroy() {
      destroyedOnPurpose = true
      pool.destroy()
      device.destroy()
    },
  }
  device.lost
    .then((info) => {
      lostError = destroyedOnPurpose
        ? new KernelAbortedError('Kernel host was destroyed.')
        : new DeviceLostError(`GPU device was lost (${info.reason}).`, { details: info.message })
      // Pending calls learn of the loss first, whatever the listener below does.
      rejectLost(lostError)
      pool.destroy()
      if (destroyedOnPurpose) return
      try {
        onLost(session, { reason: info.reason, message: info.message })
      } catch (err) {
        reportCallbackError(err)
      }
    })
    .catch(reportCallbackError)
  return session
}
