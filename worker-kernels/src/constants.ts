/**
 * Defaults shared by every kernel run, kept in one place so the SDK, the worker and the
 * tests agree on them.
 */

/**
 * How long one kernel call may take before it rejects with `KernelTimeoutError`.
 * Generous because software adapters (SwiftShader) run a 512³ matmul in seconds, and a
 * stuck call must still end: every pending call gets a deadline.
 */
export const DEFAULT_KERNEL_TIMEOUT_MS = 60_000

/**
 * How long acquiring a GPU (`requestAdapter` plus `requestDevice`) may take before it
 * fails with `GpuUnavailableError`. Both answer in well under a second on working
 * drivers, SwiftShader included; a hung request must not wedge the host for good.
 */
export const DEFAULT_DEVICE_ACQUIRE_TIMEOUT_MS = 30_000

/** Power preference asked of `requestAdapter` when the caller names none. */
export const DEFAULT_POWER_PREFERENCE: GPUPowerPreference = 'high-performance'

/**
 * Most work, in FLOP-like units, one dispatch or submission may carry. 2³⁰ FLOP is well
 * under a millisecond on a desktop GPU and about 1–2 ms on an integrated one (at a few
 * hundred GFLOP/s to a few TFLOP/s), so it stays far inside the 2 s GPU watchdogs
 * (Windows TDR) even on slow parts, while large enough that splitting costs little. On
 * SwiftShader (CPU emulation, about 0.6 GFLOP/s here) it is about 1.7 s, which no
 * watchdog interrupts.
 */
export const DEFAULT_MAX_WORK_PER_SUBMISSION = 2 ** 30

/** Largest WGSL source a custom kernel may have. */
export const MAX_CUSTOM_WGSL_BYTES = 64 * 1024
