import type { ReferenceResult } from '../compare/compare-elementwise.ts'
import {
  ABSOLUTE_FLOOR,
  expError,
  gamma,
  OUTPUT_ROUNDING,
  F32_UNIT_ROUNDOFF as u,
} from '../compare/tolerance-model.ts'
import type { ReduceRequest, SoftmaxRequest } from '../kernels/transformer/transformer-requests.ts'
import { floatValues } from './float-values.ts'

/**
 * Row-wise softmax in f64. With dⱼ = xⱼ − max, each `exp(dⱼ)` is off by expError(dⱼ)
 * relative, the sum of n terms by γₙ, and the final scaling by 2u, so
 * |Δyᵢ| ≤ yᵢ·(expError(dᵢ) + Σⱼ yⱼ·expError(dⱼ) + γₙ + 2u), times a safety factor of 2,
 * plus the output rounding.
 */
export function softmaxReference(request: SoftmaxRequest): ReferenceResult {
  const dtype = request.dtype ?? 'float32'
  const { rows, cols } = request
  const x = floatValues(request.x, dtype)
  const r = OUTPUT_ROUNDING[dtype]
  const floor = ABSOLUTE_FLOOR[dtype]
  const expected = new Float64Array(rows * cols)
  const tolerance = new Float64Array(rows * cols)
  for (let row = 0; row < rows; row++) {
    const base = row * cols
    let top = Number.NEGATIVE_INFINITY
    for (let c = 0; c < cols; c++) top = Math.max(top, x[base + c] as number)
    let sum = 0
    for (let c = 0; c < cols; c++) sum += Math.exp((x[base + c] as number) - top)
    let weighted = 0
    for (let c = 0; c < cols; c++) {
      const d = (x[base + c] as number) - top
      weighted += (Math.exp(d) / sum) * expError(d)
    }
    for (let c = 0; c < cols; c++) {
      const d = (x[base + c] as number) - top
      const y = Math.exp(d) / sum
      expected[base + c] = y
      const rel = expError(d) + weighted + gamma(cols) + 2 * u
      tolerance[base + c] = 2 * y * rel + r * y + floor
    }
  }
  return { expected, tolerance }
}

/**
 * Row-wise sum or max in f64. A sum of n terms is off by at most γₙ·Σ|x|; a max is
 * exact. Both then get the output rounding.
 */
export function reduceReference(request: ReduceRequest): ReferenceResult {
  const dtype = request.dtype ?? 'float32'
  const { rows, cols, op } = request
  const x = floatValues(request.x, dtype)
  const r = OUTPUT_ROUNDING[dtype]
  const floor = ABSOLUTE_FLOOR[dtype]
  const expected = new Float64Array(rows)
  const tolerance = new Float64Array(rows)
  for (let row = 0; row < rows; row++) {
    const base = row * cols
    let value = op === 'sum' ? 0 : Number.NEGATIVE_INFINITY
    let abs = 0
    for (let c = 0; c < cols; c++) {
      const v = x[base + c] as number
      value = op === 'sum' ? value + v : Math.max(value, v)
      abs += Math.abs(v)
    }
    expected[row] = value
    tolerance[row] = (op === 'sum' ? gamma(cols) * abs : 0) + r * Math.abs(value) + floor
  }
  return { expected, tolerance }
}
