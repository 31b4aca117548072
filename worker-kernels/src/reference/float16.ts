/**
 * IEEE 754 binary16 conversions for float16 data, which crosses the API as `Uint16Array`
 * bits (not every runtime has `Float16Array`).
 */

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/**
 * Round a number to the nearest float16 (ties to even) and return its bits. Overflow
 * gives ±Infinity, NaN stays NaN, tiny values become subnormals or ±0.
 */
export function float16Bits(value: number): number {
  // The sign comes from the f32 bits (so -0 keeps its sign); the rounding below works
  // on the f64 value itself, so there is no double rounding.
  f32[0] = value
  const sign = ((u32[0] as number) >>> 16) & 0x8000
  const abs = Math.abs(value)
  if (Number.isNaN(value)) return 0x7e00
  if (abs >= 65520) return sign | 0x7c00 // rounds past the largest finite half (65504)
  if (abs < 2 ** -24 * 0.5) return sign // rounds to zero (exactly half rounds to even: 0)
  let exponent = Math.floor(Math.log2(abs))
  if (2 ** exponent > abs) exponent -= 1 // log2 rounding near powers of two
  if (2 ** (exponent + 1) <= abs) exponent += 1
  if (exponent < -14) {
    // Subnormal: units of 2⁻²⁴.
    const mantissa = roundHalfEven(abs / 2 ** -24)
    return sign | mantissa // mantissa 1024 carries into the smallest normal, as it should
  }
  let mantissa = roundHalfEven((abs / 2 ** exponent - 1) * 1024)
  if (mantissa === 1024) {
    mantissa = 0
    exponent += 1
  }
  if (exponent > 15) return sign | 0x7c00
  return sign | ((exponent + 15) << 10) | mantissa
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x)
  const diff = x - floor
  if (diff > 0.5) return floor + 1
  if (diff < 0.5) return floor
  return floor % 2 === 0 ? floor : floor + 1
}

/** The value of float16 bits. */
export function float16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >>> 10) & 0x1f
  const mantissa = bits & 0x3ff
  if (exponent === 0) return sign * mantissa * 2 ** -24
  if (exponent === 31) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15)
}

/** Round every value to float16 bits. */
export function toFloat16(values: ArrayLike<number>): Uint16Array<ArrayBuffer> {
  const out = new Uint16Array(values.length)
  for (let i = 0; i < values.length; i++) out[i] = float16Bits(values[i] as number)
  return out
}

/** Decode float16 bits to float32 values (exact: every half is a float). */
export function fromFloat16(bits: Uint16Array): Float32Array<ArrayBuffer> {
  const out = new Float32Array(bits.length)
  for (let i = 0; i < bits.length; i++) out[i] = float16Value(bits[i] as number)
  return out
}
