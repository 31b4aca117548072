import type { KernelRequest, KernelResultOf } from '../kernels/kernel-request.ts'
import type { KernelRunOptions } from './kernel-types.ts'

/**
 * What runs kernels: the one call every kernel, built-in or custom WGSL, goes through.
 * `KernelHost` (a device in this thread), the kernel worker's client (a Web Worker), the
 * respawning worker's client and `createKernelHostProcess` (a Node child process) all
 * implement it; each adds only its own lifecycle (`info`, `init`, `destroy`, `close`, ...).
 * Code that only runs kernels (the contributor loop, the speed probe) takes a
 * `KernelRunner`, so any of them, or a CPU stand-in in a test, fits.
 *
 * @example
 * async function square(runner: KernelRunner, a: Float32Array, edge: number) {
 *   return runner.run({ kernel: 'matmul', a, b: a, m: edge, k: edge, n: edge }, { timeoutMs: 10_000 })
 * }
 */
export type KernelRunner = {
  /**
   * Run the kernel `request.kernel` names (see `KernelRequest`): `matmul`, the elementwise
   * and transformer kernels, or `custom` WGSL. Resolves to the kernel's output (one typed
   * array per declared output for `custom`). Rejects with `KernelShapeError`,
   * `KernelLimitError`, `KernelCompileError`, `KernelTimeoutError`, `KernelAbortedError`,
   * `DeviceLostError`, `GpuUnavailableError` or `KernelExecutionError`.
   */
  run<R extends KernelRequest>(request: R, options?: KernelRunOptions): Promise<KernelResultOf<R>>
}
