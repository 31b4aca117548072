import { KernelShapeError } from '../errors.ts'
import type { FloatData, FloatDtype } from '../kernels/common/float-dtype.ts'
import { float16Value } from '../reference/float16.ts'

/** What a CPU reference returns: exact (f64) values and a per-element tolerance. */
export type ReferenceResult = {
  /** The exact result, computed in f64 from the (decoded) inputs. */
  expected: Float64Array
  /**
   * Largest error a correct kernel may have at each element, derived from the
   * reduction length and the number format (see each reference's doc).
   */
  tolerance: Float64Array
}

/** Options of `compareElementwise`. */
export type CompareOptions = {
  /** Format of `actual`: `float16` decodes a `Uint16Array` of bits. @default 'float32' */
  dtype?: FloatDtype
}

/** Outcome of a comparison. */
export type Comparison = {
  /** True when every element is finite (where expected is) and within its tolerance. */
  ok: boolean
  /** How many elements are outside their tolerance. */
  mismatches: number
  /** Largest `|actual − expected|`. */
  maxAbsError: number
  /** Index of the element with the largest error/tolerance ratio; -1 if empty. */
  worstIndex: number
  /** Error/tolerance at `worstIndex`: at most 1 when `ok`. */
  worstRatio: number
  /** Tolerance at `worstIndex`. */
  tolerance: number
}

/**
 * Compare a kernel's output with its CPU reference element by element, each under its
 * own tolerance; never exact equality. Non-finite values pass only where the
 * reference has the same value (e.g. `max` of a row holding +Infinity). Throws
 * `KernelShapeError` on length mismatches.
 *
 * @example
 * const ref = softmaxReference({ kernel: 'softmax', x, rows, cols })
 * const result = compareElementwise(await host.run(request), ref)
 * if (!result.ok) console.log(result.worstIndex, result.maxAbsError)
 */
export function compareElementwise(
  actual: FloatData | ArrayLike<number>,
  reference: ReferenceResult,
  options: CompareOptions = {},
): Comparison {
  const { expected, tolerance } = reference
  const dtype = options.dtype ?? 'float32'
  if (dtype === 'float16' && !(actual instanceof Uint16Array)) {
    throw new KernelShapeError('actual must be a Uint16Array of float16 bits for dtype float16.')
  }
  if (actual.length !== expected.length || tolerance.length !== expected.length) {
    throw new KernelShapeError(
      `actual.length (${actual.length}), expected.length (${expected.length}) and tolerance.length (${tolerance.length}) must be equal.`,
    )
  }
  let mismatches = 0
  let maxAbsError = 0
  let worstIndex = -1
  let worstRatio = -1
  let worstTolerance = 0
  for (let i = 0; i < actual.length; i++) {
    const raw = actual[i] as number
    const got = dtype === 'float16' ? float16Value(raw) : raw
    const want = expected[i] as number
    const tol = tolerance[i] as number
    let error: number
    if (Number.isFinite(want)) {
      error = Number.isFinite(got) ? Math.abs(got - want) : Number.POSITIVE_INFINITY
    } else {
      error =
        Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want))
          ? 0
          : Number.POSITIVE_INFINITY
    }
    const within = error <= tol
    let ratio = tol > 0 ? error / tol : error > 0 ? Number.POSITIVE_INFINITY : 0
    if (!within && !(ratio > 1)) ratio = Number.POSITIVE_INFINITY
    if (!within) mismatches++
    if (error > maxAbsError) maxAbsError = error
    if (ratio > worstRatio) {
      worstRatio = ratio
      worstIndex = i
      worstTolerance = tol
    }
  }
  return {
    ok: mismatches === 0,
    mismatches,
    maxAbsError,
    worstIndex,
    worstRatio: Math.max(worstRatio, 0),
    tolerance: worstTolerance,
  }
}
