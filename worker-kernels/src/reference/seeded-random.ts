/**
 * Uniform values in [-1, 1) from a 32-bit seed (mulberry32), as f32. Tests and
 * benchmarks use it so a failing case reproduces from its seed alone.
 *
 * @example
 * const a = seededRandomF32(m * k, 1)
 */
export function seededRandomF32(length: number, seed: number): Float32Array<ArrayBuffer> {
  let state = seed >>> 0
  return Float32Array.from({ length }, () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 2 - 1
  })
}
