/**
 * A stream of uniform values in [0, 1) from a 32-bit seed (mulberry32: 32 bits a draw).
 * Sampling and test-data generation use it so a run reproduces from its seed alone, in any
 * JavaScript engine (it is integer arithmetic only), and a reimplementation in another
 * language draws the same values.
 *
 * @example
 * const next = seededRandom(42)
 * const u = next() // 0 ≤ u < 1, a multiple of 2⁻³²
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

/**
 * Uniform values in [-1, 1) from a 32-bit seed (mulberry32), as f32. Tests and
 * benchmarks use it so a failing case reproduces from its seed alone.
 *
 * @example
 * const a = seededRandomF32(m * k, 1)
 */
export function seededRandomF32(length: number, seed: number): Float32Array<ArrayBuffer> {
  const next = seededRandom(seed)
  return Float32Array.from({ length }, () => next() * 2 - 1)
}
