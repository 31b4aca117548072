import { KernelShapeError } from '../../errors.ts'
import { assertDimension } from '../common/assert-dimension.ts'
import { assertFloatData, type FloatDtype } from '../common/float-dtype.ts'

/** Operands of `C[m×n] = A[m×k] · B[k×n]`, all row-major (C order). */
export type MatmulOperands = {
  a: ArrayLike<number>
  b: ArrayLike<number>
  m: number
  k: number
  n: number
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

/**
 * Check a batched request: `a` holds `batch*m*k` elements and `b` either `batch*k*n`
 * or `k*n` (broadcast), both of `dtype`'s array type. Returns whether B is broadcast.
 */
export function assertBatchedMatmulShape(request: {
  a: unknown
  b: unknown
  m: unknown
  k: unknown
  n: unknown
  batch: unknown
  dtype: FloatDtype
}): { broadcastB: boolean } {
  const { a, b, m, k, n, batch, dtype } = request
  assertDimension('m', m)
  assertDimension('k', k)
  assertDimension('n', n)
  assertDimension('batch', batch)
  const prefix = batch === 1 ? '' : 'batch*'
  const values = batch === 1 ? '' : `${batch}*`
  assertFloatData(
    'a',
    a,
    dtype,
    a instanceof Float32Array || a instanceof Uint16Array ? a.length : 0,
  )
  if (a.length !== batch * m * k) {
    throw new KernelShapeError(
      `a.length (${a.length}) must equal ${prefix}m*k (${values}${m}*${k} = ${batch * m * k}) for A[m×k] row-major.`,
    )
  }
  assertFloatData(
    'b',
    b,
    dtype,
    b instanceof Float32Array || b instanceof Uint16Array ? b.length : 0,
  )
  if (b.length === batch * k * n) return { broadcastB: false }
  if (b.length === k * n) return { broadcastB: true }
  throw new KernelShapeError(
    `b.length (${b.length}) must equal k*n (${k}*${n} = ${k * n})${batch === 1 ? '' : ` or batch*k*n (${batch * k * n})`} for B[k×n] row-major.`,
  )
}
