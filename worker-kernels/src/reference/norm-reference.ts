import type { ReferenceResult } from '../compare/compare-elementwise.ts'
import {
  ABSOLUTE_FLOOR,
  gamma,
  OUTPUT_ROUNDING,
  F32_UNIT_ROUNDOFF as u,
} from '../compare/tolerance-model.ts'
import type {
  LayerNormRequest,
  RmsNormRequest,
} from '../kernels/transformer/transformer-requests.ts'
import { floatValues } from './float-values.ts'

/** Margin over the first-order error bounds below, for the second-order terms they drop. */
const SAFETY = 2

/**
 * LayerNorm in f64. Tolerance per element, first-order in u for a row of n values
 * (mean μ, variance V, s = 1/√(V+ε), d = x − μ):
 * the mean is an n-term sum, so Δμ ≤ γₙ₊₁·mean|x|; the variance is an n-term sum of d²
 * with each d off by u|d| + Δμ, so ΔV/(V+ε) ≤ γₙ₊₂ + 2·Δμ·mean|d|/(V+ε); `inverseSqrt`
 * adds 2 ULP, so Δs/s ≤ ΔV/(2(V+ε)) + 3u; then
 * |Δy| ≤ |g|·s·(u|d| + Δμ + |d|·Δs/s) + 2u(|d·s·g| + |b|), times a safety factor of 2,
 * plus the output rounding.
 */
export function layerNormReference(request: LayerNormRequest): ReferenceResult {
  const dtype = request.dtype ?? 'float32'
  const { rows, cols } = request
  const epsilon = request.epsilon ?? 1e-5
  const x = floatValues(request.x, dtype)
  const g = floatValues(request.gamma, dtype)
  const b = floatValues(request.beta, dtype)
  const r = OUTPUT_ROUNDING[dtype]
  const floor = ABSOLUTE_FLOOR[dtype]
  const expected = new Float64Array(rows * cols)
  const tolerance = new Float64Array(rows * cols)
  for (let row = 0; row < rows; row++) {
    const base = row * cols
    let sum = 0
    let abs = 0
    for (let c = 0; c < cols; c++) {
      sum += x[base + c] as number
      abs += Math.abs(x[base + c] as number)
    }
    const mean = sum / cols
    let squares = 0
    let absD = 0
    for (let c = 0; c < cols; c++) {
      const d = (x[base + c] as number) - mean
      squares += d * d
      absD += Math.abs(d)
    }
    const variance = squares / cols
    const s = 1 / Math.sqrt(variance + epsilon)
    const dMean = gamma(cols + 1) * (abs / cols)
    const relVar = gamma(cols + 2) + (2 * dMean * (absD / cols)) / (variance + epsilon)
    const relS = relVar / 2 + 3 * u
    for (let c = 0; c < cols; c++) {
      const d = (x[base + c] as number) - mean
      const gc = g[c] as number
      const bc = b[c] as number
      const y = d * s * gc + bc
      expected[base + c] = y
      const err =
        Math.abs(gc) * s * (u * Math.abs(d) + dMean + Math.abs(d) * relS) +
        2 * u * (Math.abs(d * s * gc) + Math.abs(bc))
      tolerance[base + c] = SAFETY * err + r * Math.abs(y) + floor
    }
  }
  return { expected, tolerance }
}

/**
 * RMSNorm in f64. The mean of squares is an n-term sum of squares (γₙ₊₂ relative),
 * `inverseSqrt` adds 2 ULP, and two multiplications 2u: |Δy| ≤ |y|·(γₙ₊₂/2 + 5u), times
 * a safety factor of 2, plus the output rounding.
 */
export function rmsNormReference(request: RmsNormRequest): ReferenceResult {
  const dtype = request.dtype ?? 'float32'
  const { rows, cols } = request
  const epsilon = request.epsilon ?? 1e-6
  const x = floatValues(request.x, dtype)
  const g = floatValues(request.gamma, dtype)
  const r = OUTPUT_ROUNDING[dtype]
  const floor = ABSOLUTE_FLOOR[dtype]
  const expected = new Float64Array(rows * cols)
  const tolerance = new Float64Array(rows * cols)
  const rel = gamma(cols + 2) / 2 + 5 * u
  for (let row = 0; row < rows; row++) {
    const base = row * cols
    let squares = 0
    for (let c = 0; c < cols; c++) squares += (x[base + c] as number) ** 2
    const s = 1 / Math.sqrt(squares / cols + epsilon)
    for (let c = 0; c < cols; c++) {
      const y = (x[base + c] as number) * s * (g[c] as number)
      expected[base + c] = y
      tolerance[base + c] = SAFETY * rel * Math.abs(y) + r * Math.abs(y) + floor
    }
  }
  return { expected, tolerance }
}
