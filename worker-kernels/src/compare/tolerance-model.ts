/**
 * The floating-point model every tolerance here is derived from. Kernels compute in
 * f32 whatever the storage format, then round the result once to the output format.
 */
import type { FloatDtype } from '../kernels/common/float-dtype.ts'

/** Unit roundoff of f32 arithmetic, u = 2⁻²⁴: the largest relative error of one rounding. */
export const F32_UNIT_ROUNDOFF = 2 ** -24

/**
 * Relative error of storing a result in each format. f32 results are stored as
 * computed (one rounding, u). f16 results get one more rounding; WGSL does not promise
 * round-to-nearest for `pack2x16float`, so a full f16 ulp (2⁻¹⁰) is allowed, not half.
 */
export const OUTPUT_ROUNDING: Record<FloatDtype, number> = { float32: 2 ** -24, float16: 2 ** -10 }

/**
 * Absolute slack per element for tiny values: WGSL may flush f32 subnormals to zero
 * (below 2⁻¹²⁶); f16 results below 2⁻¹⁴ are subnormal, spaced 2⁻²⁴ apart.
 */
export const ABSOLUTE_FLOOR: Record<FloatDtype, number> = { float32: 2 ** -120, float16: 2 ** -24 }

/** γₙ = n·u/(1 − n·u) (Higham §3.1): relative error bound of an n-term f32 sum or dot product. */
export function gamma(n: number): number {
  const nu = n * F32_UNIT_ROUNDOFF
  return nu < 1 ? nu / (1 - nu) : Number.POSITIVE_INFINITY
}

/**
 * Relative error WGSL allows `exp(x)` in f32: 3 + 2·|x| ULP (WGSL §"Floating Point
 * Accuracy"), as a relative bound, plus the rounding of its argument.
 */
export function expError(x: number): number {
  return (4 + 2 * Math.abs(x)) * F32_UNIT_ROUNDOFF
}
