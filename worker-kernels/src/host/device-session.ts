import {
  DeviceLostError,
  GpuUnavailableError,
  KernelAbortedError,
  type TabswarmError,
} from '../errors.ts'
import { type BufferPool, type BufferPoolOptions, createBufferPool } from './buffer-pool.ts'
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
  /** Called when the device is lost other than through `destroy()`. */
  onLost: (details: DeviceLostDetails) => void
  /** Bounds of the session's buffer pool. */
  pool?: BufferPoolOptions
}

/**
 * Request an adapter and a device with the adapter's best storage and workgroup limits
 * (the defaults cap bindings at 128 MiB, far below what most adapters allow).
 * Throws `GpuUnavailableError` when either request fails.
 */
export async function acquireDeviceSession({
  gpu,
  powerPreference,
  onLost,
  pool: poolOptions,
}: AcquireDeviceOptions): Promise<DeviceSession> {
  let adapter: GPUAdapter | null
  try {
    adapter = await gpu.requestAdapter({ powerPreference })
  } catch (cause) {
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
  // shader-f16 is requested where the adapter has it; kernels check the device's features.
  const requiredFeatures: GPUFeatureName[] = adapter.features.has('shader-f16')
    ? ['shader-f16']
    : []
  let device: GPUDevice
  try {
    device = await adapter.requestDevice({
      label: 'tabswarm-kernel-host',
      requiredLimits,
      requiredFeatures,
    })
  } catch (cause) {
    throw new GpuUnavailableError('Requesting a WebGPU device failed.', { cause })
  }

  let destroyedOnPurpose = false
  let lostError: TabswarmError | undefined
  let rejectLost: (err: TabswarmError) => void = () => {}
  const lost = new Promise<never>((_, reject) => {
    rejectLost = reject
  })
  lost.catch(() => {})
  const pool = createBufferPool(device, poolOptions)
  void device.lost.then((info) => {
    pool.destroy()
    lostError = destroyedOnPurpose
      ? new KernelAbortedError('Kernel host was destroyed.')
      : new DeviceLostError(`GPU device was lost (${info.reason}).`, { details: info.message })
    rejectLost(lostError)
    if (!destroyedOnPurpose) onLost({ reason: info.reason, message: info.message })
  })

  return {
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
}
