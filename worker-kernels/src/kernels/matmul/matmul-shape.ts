import { KernelShapeError } from '../../errors.ts'

/** Operands of `C[m×n] = A[m×k] · B[k×n]`, all row-major (C order). */
export type MatmulOperands = {
  a: ArrayLike<number>
  b: ArrayLike<number>
  m: number
  k: number
  n: number
}

function assertDimension(name: string, value: number): void {
  // Dimensions become u32 uniforms and buffer sizes: fractions, zeros and NaN would
  // either fail deep inside WebGPU or silently truncate.
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new KernelShapeError(`${name} must be a positive integer, got ${value}.`)
  }
}

/**
 * Check that `m`, `k`, `n` are positive integers and that `a` and `b` hold exactly
 * `m*k` and `k*n` elements. Throws `KernelShapeError` naming the offending value.
 */
export function assertMatmulShape({ a, b, m, k, n }: MatmulOperands): void {
  assertDimension('m', m)
  assertDimension('k', k)
  assertDimension('n', n)
  if (a.length !== m * k) {
    throw new KernelShapeError(
      `a.length (${a.length}) must equal m*k (${m}*${k} = ${m * k}) for A[m×k] row-major.`,
    )
  }
  if (b.length !== k * n) {
    throw new KernelShapeError(
      `b.length (${b.length}) must equal k*n (${k}*${n} = ${k * n}) for B[k×n] row-major.`,
    )
  }
}
