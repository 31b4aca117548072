import type { ReferenceResult } from '../compare/compare-elementwise.ts'
import {
  ABSOLUTE_FLOOR,
  OUTPUT_ROUNDING,
  F32_UNIT_ROUNDOFF as u,
} from '../compare/tolerance-model.ts'
import type { RopeRequest } from '../kernels/transformer/transformer-requests.ts'
import { floatValues } from './float-values.ts'

/**
 * Rotary embedding in f64, rotate-half, as `decoder-reference.ts` applies it. Tolerance:
 * the cosine and sine are rounded to f32 once (the kernel uploads them), then two products
 * and a sum, so about 4 roundings of `|a| + |b|`, plus the output rounding.
 */
export function ropeReference(request: RopeRequest): ReferenceResult {
  const dtype = request.dtype ?? 'float32'
  const x = floatValues(request.x, dtype)
  const { heads, headDim, theta, positions } = request
  const half = headDim / 2
  const r = OUTPUT_ROUNDING[dtype]
  const floor = ABSOLUTE_FLOOR[dtype]
  const expected = new Float64Array(x.length)
  const tolerance = new Float64Array(x.length)
  for (let row = 0; row < positions.length; row++) {
    for (let h = 0; h < heads; h++) {
      const base = (row * heads + h) * headDim
      for (let k = 0; k < half; k++) {
        const angle = (positions[row] as number) * theta ** (-(2 * k) / headDim)
        const cos = Math.cos(angle)
        const sin = Math.sin(angle)
        const a = x[base + k] as number
        const b = x[base + k + half] as number
        const first = a * cos - b * sin
        const second = b * cos + a * sin
        const err = 4 * u * (Math.abs(a) + Math.abs(b))
        expected[base + k] = first
        expected[base + k + half] = second
        tolerance[base + k] = err + r * Math.abs(first) + floor
        tolerance[base + k + half] = err + r * Math.abs(second) + floor
      }
    }
  }
  return { expected, tolerance }
}
