import type { ReferenceResult } from '../compare/compare-elementwise.ts'
import {
  ABSOLUTE_FLOOR,
  OUTPUT_ROUNDING,
  F32_UNIT_ROUNDOFF as u,
} from '../compare/tolerance-model.ts'
import type {
  ActivationRequest,
  BiasAddRequest,
  ResidualAddRequest,
} from '../kernels/elementwise/elementwise-request.ts'
import type { SwigluRequest } from '../kernels/transformer/transformer-requests.ts'
import { floatValues } from './float-values.ts'

const GELU_C = Math.sqrt(2 / Math.PI)

/**
 * Exact activation values in f64, with tolerances: `relu` is exact before the output
 * rounding; `silu` allows WGSL's `exp` error (3 + 2|x| ULP) through the division;
 * `gelu` allows a few roundings in its cubic argument, propagated through tanh's
 * slope, plus 64 ULP for `tanh` itself (WGSL derives its accuracy from sinh/cosh,
 * i.e. from `exp` of arguments up to 10 after the clamp).
 */
export function activationReference(request: ActivationRequest): ReferenceResult {
  const dtype = request.dtype ?? 'float32'
  const x = floatValues(request.x, dtype)
  const r = OUTPUT_ROUNDING[dtype]
  const floor = ABSOLUTE_FLOOR[dtype]
  const expected = new Float64Array(x.length)
  const tolerance = new Float64Array(x.length)
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number
    let y: number
    let err: number
    if (request.op === 'relu') {
      y = Math.max(v, 0)
      err = 0
    } else if (request.op === 'silu') {
      y = v / (1 + Math.exp(-v))
      err = Math.abs(y) * (6 + 2 * Math.abs(v)) * u
    } else {
      const z = GELU_C * (v + 0.044715 * v * v * v)
      const t = Math.tanh(z)
      y = 0.5 * v * (1 + t)
      const dz = 8 * u * GELU_C * (Math.abs(v) + 0.044715 * Math.abs(v) ** 3)
      const slope = 1 - t * t
      err = 0.5 * Math.abs(v) * (64 * u + dz * slope) + 4 * u * Math.abs(y)
    }
    expected[i] = y
    tolerance[i] = err + r * Math.abs(y) + floor
  }
  return { expected, tolerance }
}

function sumReference(
  a: Float64Array,
  b: (i: number) => number,
  dtype: 'float32' | 'float16',
): ReferenceResult {
  const r = OUTPUT_ROUNDING[dtype]
  const floor = ABSOLUTE_FLOOR[dtype]
  const expected = new Float64Array(a.length)
  const tolerance = new Float64Array(a.length)
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number
    const y = b(i)
    expected[i] = x + y
    // One f32 addition, then the output rounding.
    tolerance[i] = u * (Math.abs(x) + Math.abs(y)) + r * Math.abs(x + y) + floor
  }
  return { expected, tolerance }
}

/** `x + bias` (bias broadcast over rows), exact, with one addition's rounding allowed. */
export function biasAddReference(request: BiasAddRequest): ReferenceResult {
  const dtype = request.dtype ?? 'float32'
  const bias = floatValues(request.bias, dtype)
  return sumReference(floatValues(request.x, dtype), (i) => bias[i % request.cols] as number, dtype)
}

/** `x + residual`, exact, with one addition's rounding allowed. */
export function residualAddReference(request: ResidualAddRequest): ReferenceResult {
  const dtype = request.dtype ?? 'float32'
  const residual = floatValues(request.residual, dtype)
  return sumReference(floatValues(request.x, dtype), (i) => residual[i] as number, dtype)
}

/**
 * `silu(gate)·up` in f64: `silu`'s tolerance (WGSL's `exp`, 3 + 2|x| ULP, through the
 * division) scaled by `|up|`, plus the product's rounding.
 */
export function swigluReference(request: SwigluRequest): ReferenceResult {
  const dtype = request.dtype ?? 'float32'
  const gate = floatValues(request.gate, dtype)
  const up = floatValues(request.up, dtype)
  const r = OUTPUT_ROUNDING[dtype]
  const floor = ABSOLUTE_FLOOR[dtype]
  const expected = new Float64Array(gate.length)
  const tolerance = new Float64Array(gate.length)
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i] as number
    const y = (g / (1 + Math.exp(-g))) * (up[i] as number)
    expected[i] = y
    tolerance[i] = Math.abs(y) * (7 + 2 * Math.abs(g)) * u + r * Math.abs(y) + floor
  }
  return { expected, tolerance }
}
