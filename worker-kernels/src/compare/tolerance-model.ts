/**
 * The floating-point error model every tolerance in this package is derived from, in one
 * place: the comparators (`compareElementwise` through the CPU references,
 * `compareMatmul`) and Freivalds' check all take their constants from here.
 *
 * Kernels compute in f32 whatever the storage format, then store the result once in the
 * output format; the one exception, the f16-arithmetic path on `shader-f16` devices (matmul,
 * and the decoder's projections), rounds each product to f16 before its f32 sum
 * (`f16ProductGamma` for matmul; `decoderTolerance` with `compute: 'float16'`). An f32 computation of n roundings is within γₙ (Higham §3.1) of the
 * exact value over the magnitudes it combines; WGSL may also flush f32 subnormals to
 * zero, losing up to `FLUSH_SLACK` per operation; and storing in f16 rounds once more.
 */
import type { FloatDtype } from '../kernels/common/float-dtype.ts'

/** Unit roundoff of f32 arithmetic, u = 2⁻²⁴: the largest relative error of one rounding. */
export const F32_UNIT_ROUNDOFF = 2 ** -24

/** Unit roundoff of f64, for the CPU side's own arithmetic (Freivalds' check). */
export const F64_UNIT_ROUNDOFF = 2 ** -53

/**
 * Relative error of storing a value computed in f32 in each format. f32 stores what was
 * computed: no error beyond the computation's own γₙ. f16 rounds once more; WGSL does
 * not promise round-to-nearest for `pack2x16float`, so a full f16 ulp (2⁻¹⁰) is allowed.
 */
export const STORE_ROUNDING: Record<FloatDtype, number> = { float32: 0, float16: 2 ** -10 }

/**
 * The last rounding of a result as the comparators count it: one f32 rounding (u) for
 * f32, `STORE_ROUNDING` for f16. The CPU references use it for the final operation of
 * the elementwise and row kernels; `compareMatmul` adds it on top of γₖ, where for f32
 * it is a deliberate margin (γₖ already covers the stored value) of about 1/k relative.
 */
export const OUTPUT_ROUNDING: Record<FloatDtype, number> = {
  float32: F32_UNIT_ROUNDOFF,
  float16: STORE_ROUNDING.float16,
}

/** Absolute error per f32 operation from WGSL's licence to flush subnormals (below 2⁻¹²⁶). */
export const FLUSH_SLACK = 2 ** -126

/**
 * Absolute error of storing a tiny value, beyond the relative rounding: f16 results below
 * 2⁻¹⁴ are subnormal, spaced 2⁻²⁴ apart; f32 adds none (its flushing is `FLUSH_SLACK`,
 * counted per operation).
 */
export const STORED_SUBNORMAL_SLACK: Record<FloatDtype, number> = {
  float32: 0,
  float16: 2 ** -24,
}

/**
 * Absolute slack per element of the short computations of the elementwise and row
 * kernels: up to 64 flushed operations (2⁻¹²⁰) in f32, the subnormal spacing in f16.
 * Length-k reductions (matmul, Freivalds) count 2k·`FLUSH_SLACK` instead.
 */
export const ABSOLUTE_FLOOR: Record<FloatDtype, number> = {
  float32: 64 * FLUSH_SLACK,
  float16: STORED_SUBNORMAL_SLACK.float16,
}

/**
 * γₙ = n·u/(1 − n·u) (Higham §3.1): relative error bound of an n-term sum or dot product
 * in arithmetic of unit roundoff u (f32 unless given).
 */
export function gamma(n: number, u: number = F32_UNIT_ROUNDOFF): number {
  const nu = n * u
  return nu < 1 ? nu / (1 - nu) : Number.POSITIVE_INFINITY
}

/**
 * Relative error WGSL allows `exp(x)` in f32: 3 + 2·|x| ULP (WGSL §"Floating Point
 * Accuracy"), as a relative bound, plus the rounding of its argument.
 */
export function expError(x: number): number {
  return (4 + 2 * Math.abs(x)) * F32_UNIT_ROUNDOFF
}

/**
 * Storage format of a matmul result as `compareMatmul` and `freivaldsCheck` name it:
 * `f32`, or `f16` (f16 operands and result, f32 accumulation, one rounding to f16).
 */
export type MatmulDtype = 'f32' | 'f16'

/**
 * Relative error of one f16 product on the f16-arithmetic matmul path (see
 * `matmul-compute.ts`): WGSL only promises f16 multiplication "correctly rounded" to
 * either neighbour, so a full f16 ulp, 2⁻¹⁰, rather than the round-to-nearest 2⁻¹¹.
 */
export const F16_PRODUCT_ROUNDING = 2 ** -10

/**
 * Absolute error of one f16 product below the normal range: at most the product itself
 * where it is flushed to zero, and at most 2⁻¹⁴ (f16's smallest normal) in any case.
 */
export const F16_PRODUCT_FLUSH = 2 ** -14

/**
 * Relative error bound, over |A|·|B|, of a length-k dot product whose products are
 * rounded to f16 and summed in f32: each term carries one product rounding, then the
 * f32 sum γₖ of the rounded terms, (1 + 2⁻¹⁰)·γₖ + 2⁻¹⁰. Unlike an f16 sum (γₖ at
 * 2⁻¹¹, unbounded from k = 2048), it barely grows with k.
 */
export function f16ProductGamma(k: number): number {
  return F16_PRODUCT_ROUNDING + (1 + F16_PRODUCT_ROUNDING) * gamma(k)
}

/** The `FloatDtype` of each `MatmulDtype`. */
export const MATMUL_FLOAT_DTYPE: Record<MatmulDtype, FloatDtype> = {
  f32: 'float32',
  f16: 'float16',
}
