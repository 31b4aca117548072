/** A deterministic pseudo-random matrix (mulberry32), values in [-1, 1). */
export function randomMatrix(rows: number, cols: number, seed: number): Float32Array {
  const out = new Float32Array(rows * cols)
  let state = seed >>> 0
  for (let i = 0; i < out.length; i++) {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 2 - 1
  }
  return out
}
