import { assertMatmulShape } from '../kernels/matmul/matmul-shape.ts'

/** Result of `matmulReferenceWithBound`. */
export type MatmulReferenceResult = {
  /** `A·B` rounded once to f32 from an f64 accumulation. */
  c: Float32Array
  /**
   * `(|A|·|B|)` elementwise, in f64: the magnitude every floating-point error bound on
   * a dot product scales with. Feed it to `compareMatmul` as `bound`.
   */
  bound: Float64Array
}

function multiply(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  bound: Float64Array | undefined,
): Float32Array {
  const c = new Float32Array(m * n)
  const row = new Float64Array(n)
  const absRow = bound ? new Float64Array(n) : undefined
  // i-k-j order: the inner loop walks one row of B and one row of C contiguously, which
  // is several times faster in JS than the textbook i-j-k (strided column reads of B).
  for (let i = 0; i < m; i++) {
    row.fill(0)
    absRow?.fill(0)
    for (let p = 0; p < k; p++) {
      // Products of two f32 values are exact in f64 (24 + 24 bits < 53), so the only
      // rounding is in the f64 sum: about k·2⁻⁵³ relative, far below f32 resolution.
      // Zeros are not skipped: 0·Inf must stay NaN, as on the GPU.
      const aip = a[i * k + p] as number
      const bOffset = p * n
      if (absRow) {
        for (let j = 0; j < n; j++) {
          const product = aip * (b[bOffset + j] as number)
          row[j] = (row[j] as number) + product
          absRow[j] = (absRow[j] as number) + Math.abs(product)
        }
      } else {
        for (let j = 0; j < n; j++) row[j] = (row[j] as number) + aip * (b[bOffset + j] as number)
      }
    }
    c.set(row, i * n)
    bound?.set(absRow as Float64Array, i * n)
  }
  return c
}

/**
 * CPU reference for `C[m×n] = A[m×k] · B[k×n]`, row-major (C order), accumulated in
 * float64 and rounded once to float32, so it is a trustworthy yardstick for f32 GPU
 * kernels. Throws `KernelShapeError` if the lengths do not match the dimensions.
 *
 * @example
 * const c = matmulReference(new Float32Array([1, 2]), new Float32Array([3, 4]), 1, 2, 1)
 * // c = Float32Array [11]
 */
export function matmulReference(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
): Float32Array {
  assertMatmulShape({ a, b, m, k, n })
  return multiply(a, b, m, k, n, undefined)
}

/**
 * Like `matmulReference`, and also returns the elementwise magnitude bound `|A|·|B|`
 * that `compareMatmul` needs for a rigorous per-element tolerance.
 */
export function matmulReferenceWithBound(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
): MatmulReferenceResult {
  assertMatmulShape({ a, b, m, k, n })
  const bound = new Float64Array(m * n)
  const c = multiply(a, b, m, k, n, bound)
  return { c, bound }
}
