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

/** Power preference asked of `requestAdapter` when the caller names none. */
export const DEFAULT_POWER_PREFERENCE: GPUPowerPreference = 'high-performance'
