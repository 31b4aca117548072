import { KernelShapeError } from '../errors.ts'
import {
  F16_PRODUCT_FLUSH,
  FLUSH_SLACK,
  f16ProductGamma,
  gamma as gammaOf,
  MATMUL_FLOAT_DTYPE,
  type MatmulDtype,
  OUTPUT_ROUNDING,
  STORED_SUBNORMAL_SLACK,
} from './tolerance-model.ts'

export type { MatmulDtype }

/** Options of `compareMatmul`. */
export type CompareMatmulOptions = {
  /** Reduction length (A's columns, B's rows): error bounds grow with it. */
  k: number
  /**
   * Elementwise `|A|·|B|` (from `matmulReferenceWithBound`). With it the check is the
   * rigorous componentwise bound; without it a normwise fallback is used (see
   * `compareMatmul`).
   */
  bound?: ArrayLike<number>
  /** Storage format of the result. @default 'f32' */
  dtype?: MatmulDtype
  /**
   * Arithmetic the kernel multiplied in: `f16` for the f16-arithmetic path (products
   * rounded to f16, summed in f32; `MatmulRequest.compute` / `selectMatmulCompute`
   * resolving to `float16`), whose bound is `f16ProductGamma(k)` instead of γₖ.
   * @default 'f32'
   */
  compute?: MatmulDtype
}

/** Outcome of `compareMatmul`. */
export type MatmulComparison = {
  /** True when every element is finite and within its tolerance. */
  ok: boolean
  /** How many elements are non-finite or outside their tolerance. */
  mismatches: number
  /** Largest `|actual − expected|` (Infinity if `actual` holds NaN or ±Infinity). */
  maxAbsError: number
  /** Index of the element with the largest error/tolerance ratio; -1 if empty. */
  worstIndex: number
  /** Error/tolerance at `worstIndex`: at most 1 when `ok`. */
  worstRatio: number
  /** Tolerance at `worstIndex`. */
  tolerance: number
  /** The relative factor over `bound` used: γₖ = k·u / (1 − k·u), or `f16ProductGamma(k)`. */
  gamma: number
}

/**
 * Compare a kernel's matmul output with a reference, element by element, with a
 * tolerance from floating-point error analysis instead of a guessed epsilon.
 *
 * Any f32 dot product of length k, summed in any order (tiled, blocked, FMA or not),
 * satisfies |ĉ − c| ≤ γₖ·(|A|·|B|) (Higham, Thm 3.5 and §3.1). Storing the result adds
 * u·|expected|, u = `OUTPUT_ROUNDING` (2⁻¹⁰ for f16 results, `actual` then being the
 * decoded f16 values; for f32, 2⁻²⁴ as a margin γₖ strictly does not need). So element i
 * passes when
 *
 *   |actual − expected| ≤ γₖ·bound + u·|expected| + 2k·2⁻¹²⁶
 *
 * where the last term covers flushed subnormals. This is a worst-case bound: a correct
 * kernel cannot fail it, while a wrong element (a bad tile edge, a dropped term) is
 * usually off by far more. Without `bound`, the normwise fallback uses
 * `max|expected|` in place of `bound`: fine for typical data, but it can fail a correct
 * kernel under heavy cancellation, so pass `bound` in tests.
 *
 * With `compute: 'f16'` (f16 products, f32 sum) γₖ becomes `f16ProductGamma(k)`, about
 * 2⁻¹⁰ + γₖ, and products that f16 flushes or rounds as subnormals add
 * min(bound, k·2⁻¹⁴) (each such product is below 2⁻¹⁴ and loses at most itself).
 *
 * NaN or ±Infinity in `actual` always fails; there is no exact-equality fast path.
 * Throws `KernelShapeError` if the lengths differ.
 *
 * @example
 * const { c, bound } = matmulReferenceWithBound(a, b, m, k, n)
 * const result = compareMatmul(gpuC, c, { k, bound })
 * if (!result.ok) console.log(result.worstIndex, result.maxAbsError)
 */
export function compareMatmul(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  options: CompareMatmulOptions,
): MatmulComparison {
  const { k, bound } = options
  const dtype = options.dtype ?? 'f32'
  const compute = options.compute ?? 'f32'
  if (actual.length !== expected.length) {
    throw new KernelShapeError(
      `actual.length (${actual.length}) must equal expected.length (${expected.length}).`,
    )
  }
  if (bound && bound.length !== expected.length) {
    throw new KernelShapeError(
      `bound.length (${bound.length}) must equal expected.length (${expected.length}).`,
    )
  }
  if (!Number.isSafeInteger(k) || k < 1) {
    throw new KernelShapeError(`k must be a positive integer, got ${k}.`)
  }
  if (dtype !== 'f32' && dtype !== 'f16') {
    throw new KernelShapeError(`dtype must be f32 or f16, got ${String(dtype)}.`)
  }
  if (compute !== 'f32' && compute !== 'f16') {
    throw new KernelShapeError(`compute must be f32 or f16, got ${String(compute)}.`)
  }
  const f16Products = compute === 'f16'
  const format = MATMUL_FLOAT_DTYPE[dtype]
  const u = OUTPUT_ROUNDING[format]
  const gamma = f16Products ? f16ProductGamma(k) : gammaOf(k)
  const productFlush = f16Products ? k * F16_PRODUCT_FLUSH : 0
  const floor = 2 * k * FLUSH_SLACK + STORED_SUBNORMAL_SLACK[format]
  let normwiseScale = 0
  if (!bound) {
    for (let i = 0; i < expected.length; i++) {
      const e = Math.abs(expected[i] as number)
      if (e > normwiseScale) normwiseScale = e
    }
  }

  let mismatches = 0
  let maxAbsError = 0
  let worstIndex = -1
  let worstRatio = -1
  let worstTolerance = 0
  for (let i = 0; i < actual.length; i++) {
    const got = actual[i] as number
    const want = expected[i] as number
    const scale = bound ? (bound[i] as number) : normwiseScale
    const tolerance = gamma * scale + u * Math.abs(want) + floor + Math.min(scale, productFlush)
    // Written so that NaN anywhere (actual, expected or bound) lands in the failing branch.
    const error = Number.isFinite(got) ? Math.abs(got - want) : Number.POSITIVE_INFINITY
    // Checked apart from the comparison: an infinite tolerance must not admit Infinity.
    const within = Number.isFinite(got) && error <= tolerance
    let ratio = error / tolerance
    // A failing element must rank above every passing one, even when its ratio is NaN.
    if (!within && !(ratio > 1)) ratio = Number.POSITIVE_INFINITY
    if (!within) mismatches++
    if (!(error <= maxAbsError))
      maxAbsError = Number.isNaN(error) ? Number.POSITIVE_INFINITY : error
    if (ratio > worstRatio) {
      worstRatio = ratio
      worstIndex = i
      worstTolerance = tolerance
    }
  }
  return {
    ok: mismatches === 0,
    mismatches,
    maxAbsError,
    worstIndex,
    worstRatio: Math.max(worstRatio, 0),
    tolerance: worstTolerance,
    gamma,
  }
}
