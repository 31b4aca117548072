import type { FloatData, FloatDtype } from '../kernels/common/float-dtype.ts'
import { float16Value } from './float16.ts'

/** The values of float operand `data` (float16 bits decoded), as f64. */
export function floatValues(data: FloatData, dtype: FloatDtype = 'float32'): Float64Array {
  const out = new Float64Array(data.length)
  for (let i = 0; i < data.length; i++) {
    const raw = data[i] as number
    out[i] = dtype === 'float16' ? float16Value(raw) : raw
  }
  return out
}
