import type { FloatData, FloatDtype } from '../common/float-dtype.ts'
import type { MatmulComputeOption } from './matmul-compute.ts'
import type { MatmulVariant } from './matmul-kernel.ts'

/**
 * `C[m×n] = A[m×k] · B[k×n]`, row-major (C order); with `batch`, `batch` independent
 * products stacked along the first axis. Accumulation is always f32; float16 data is
 * multiplied in f16 where the device has `shader-f16` (see `compute`).
 */
export type MatmulRequest = {
  /** A, `batch*m*k` elements: `Float32Array`, or float16 bits in a `Uint16Array`. */
  a: FloatData
  /** B, `batch*k*n` elements, or `k*n` to use the same B for every batch entry. */
  b: FloatData
  m: number
  k: number
  n: number
  /**
   * Independent products in one call (one dispatch grid, z = batch).
   * @default 1
   */
  batch?: number
  /**
   * Storage format of A, B and C. `float16` reads and returns `Uint16Array` bits.
   * @default 'float32'
   */
  dtype?: FloatDtype
  /**
   * Which kernel runs it. `auto` takes `gemv` for m = 1 or n = 1, else `tiled`.
   * @default 'auto'
   */
  variant?: MatmulVariant
  /**
   * Arithmetic: `auto` multiplies float16 data in f16 where the device has `shader-f16`
   * and in f32 elsewhere; `float32` forces f32 (the same error bound on every
   * contributor); `float16` insists on f16 products (`KernelLimitError` without
   * `shader-f16`). `selectMatmulCompute(dtype, host.info.deviceFeatures)` says which
   * `auto` picks.
   * @default 'auto'
   */
  compute?: MatmulComputeOption
}
