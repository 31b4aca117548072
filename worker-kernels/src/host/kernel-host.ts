import {
  DEFAULT_KERNEL_TIMEOUT_MS,
  DEFAULT_MAX_WORK_PER_SUBMISSION,
  DEFAULT_POWER_PREFERENCE,
} from '../constants.ts'
import { KernelAbortedError, KernelShapeError } from '../errors.ts'
import type { KernelRequest, KernelResult } from '../kernels/kernel-request.ts'
import { planKernel } from '../kernels/plan-kernel.ts'
import type { BufferPoolOptions } from './buffer-pool.ts'
import { assertTimeoutMs, createCallDeadline } from './call-deadline.ts'
import { acquireDeviceSession, type DeviceSession } from './device-session.ts'
import { assertGpuShare, createGpuPacer } from './gpu-pacer.ts'
import type { KernelRunner } from './kernel-runner.ts'
import type { DeviceLostDetails, HostInfo, KernelRunOptions } from './kernel-types.ts'
import { runGpuProgram } from './run-gpu-program.ts'

/** Options of `createKernelHost`. */
export type KernelHostOptions = {
  /** The WebGPU entry point: `navigator.gpu` in a browser, `createNodeGpu()` in Node. */
  gpu: GPU
  /** @default 'high-performance' */
  powerPreference?: GPUPowerPreference
  /**
   * Called when the device is lost (not when the host destroys it). Calls pending at
   * that moment reject with `DeviceLostError`; the next call acquires a new device.
   * An exception it throws is caught (and passed to `reportError` where it exists).
   */
  onDeviceLost?: (details: DeviceLostDetails) => void
  /**
   * Default deadline of each call, overridable per call: milliseconds up to 2³¹ − 1,
   * or `Infinity` for none.
   * @default DEFAULT_KERNEL_TIMEOUT_MS (60 s)
   */
  timeoutMs?: number
  /**
   * Most milliseconds acquiring a device (adapter and device requests) may take, at
   * creation and after a loss: up to 2³¹ − 1, or `Infinity` for none. Past it the
   * acquisition fails with `GpuUnavailableError` and the next call tries again.
   * @default DEFAULT_DEVICE_ACQUIRE_TIMEOUT_MS (30 s)
   */
  acquireTimeoutMs?: number
  /**
   * Cap on workgroups per axis in one dispatch, below the adapter's
   * `maxComputeWorkgroupsPerDimension`.
   * @default the adapter's limit
   */
  maxWorkgroupsPerDimension?: number
  /**
   * Most work (FLOP-like units) per dispatch and per submission of built-in kernels:
   * large problems are split so no single submission runs long enough to trip a GPU
   * watchdog or freeze the desktop. A matmul whose one workgroup would exceed it alone
   * is split along k (split-K); other kernels' workgroups above it are refused.
   * @default DEFAULT_MAX_WORK_PER_SUBMISSION (2³⁰)
   */
  maxWorkPerSubmission?: number
  /** Bounds of the per-device buffer pool. */
  bufferPool?: BufferPoolOptions
}

/**
 * A GPU device with the Tabswarm kernels on it: a `KernelRunner` whose `run` validates the
 * request against the device limits, then runs it in bounded submissions under a
 * deadline. Create with `createKernelHost`.
 */
export type KernelHost = KernelRunner & {
  /** The current device's description (updated when a lost device is replaced). */
  readonly info: HostInfo
  /** Destroy the device. Pending and later calls reject with `KernelAbortedError`. */
  destroy(): void
}

/**
 * Acquire a WebGPU device and return a host that runs kernels on it: one device per
 * host, pipelines compiled once, buffers pooled, every call validated against the
 * device limits before anything is allocated, split into bounded submissions, and
 * bounded by a deadline. Rejects with `GpuUnavailableError` if there is no adapter or
 * device.
 *
 * @example
 * const host = await createKernelHost({ gpu: navigator.gpu })
 * const c = await host.run({ kernel: 'matmul', a, b, m: 64, k: 32, n: 16 }, { signal })
 * host.destroy()
 */
export async function createKernelHost(options: KernelHostOptions): Promise<KernelHost> {
  const { gpu, onDeviceLost } = options
  const powerPreference = options.powerPreference ?? DEFAULT_POWER_PREFERENCE
  const defaultTimeoutMs = options.timeoutMs ?? DEFAULT_KERNEL_TIMEOUT_MS
  const maxWorkPerSubmission = options.maxWorkPerSubmission ?? DEFAULT_MAX_WORK_PER_SUBMISSION
  if (!(maxWorkPerSubmission > 0)) {
    throw new RangeError(`maxWorkPerSubmission must be positive, got ${maxWorkPerSubmission}.`)
  }
  // Checked here, once, rather than failing every call that relies on the default.
  assertTimeoutMs(defaultTimeoutMs)
  let destroyed = false
  let session: DeviceSession | undefined
  let acquiring: Promise<DeviceSession> | undefined

  const acquire = async (): Promise<DeviceSession> => {
    const next = await acquireDeviceSession({
      gpu,
      powerPreference,
      ...(options.bufferPool ? { pool: options.bufferPool } : {}),
      ...(options.acquireTimeoutMs === undefined ? {} : { timeoutMs: options.acquireTimeoutMs }),
      onLost: (lostSession, details) => {
        // Drop the dead session so the next call acquires a fresh device lazily. The
        // session is passed in: the loss may be reported before `next` is assigned.
        if (session === lostSession) session = undefined
        onDeviceLost?.(details)
      },
    })
    if (destroyed) {
      next.destroy()
      throw new KernelAbortedError('Kernel host was destroyed.')
    }
    // Lost between creation and now: hand it out anyway; the call fails with
    // DeviceLostError through `session.lost` and the next one acquires afresh.
    if (!next.lostError()) session = next
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
  /** One duty cycle for the device: every paced call's rests and rates are its own. */
  const pacer = createGpuPacer()

  const run = async (
    request: KernelRequest,
    runOptions: KernelRunOptions,
  ): Promise<KernelResult> => {
    if (destroyed) throw new KernelAbortedError('Kernel host was destroyed.')
    if (typeof request !== 'object' || request === null) {
      throw new KernelShapeError('A kernel request must be an object.')
    }
    // Shapes are checked against the last known limits before waiting for a device,
    // and the plan is rebuilt if a replacement device reports other limits.
    if (runOptions.gpuShare !== undefined) assertGpuShare(runOptions.gpuShare)
    const contextOf = (host: HostInfo) => ({
      deviceFeatures: host.deviceFeatures,
      maxWorkPerSubmission,
    })
    let plan = planKernel(request, info.limits, contextOf(info))
    const deadline = createCallDeadline({
      signal: runOptions.signal,
      timeoutMs: runOptions.timeoutMs ?? defaultTimeoutMs,
    })
    try {
      const active = await deadline.race(currentSession())
      if (active.info !== info) {
        info = active.info
        plan = planKernel(request, info.limits, contextOf(info))
      }
      const outputs = await runGpuProgram({
        session: active,
        program: plan.program,
        deadline,
        maxWorkgroupsPerDimension: Math.min(
          active.info.limits.maxComputeWorkgroupsPerDimension,
          options.maxWorkgroupsPerDimension ?? Number.POSITIVE_INFINITY,
        ),
        maxWorkPerSubmission,
        pacing:
          runOptions.gpuShare === undefined ? undefined : { share: runOptions.gpuShare, pacer },
      })
      return plan.decode(outputs)
    } finally {
      deadline.dispose()
    }
  }

  return {
    get info() {
      return session?.info ?? info
    },
    run(request, runOptions = {}) {
      return run(request, runOptions) as Promise<never>
    },
    destroy() {
      destroyed = true
      session?.destroy()
      session = undefined
    },
  }
}
