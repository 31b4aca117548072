/**
 * The CPU twin of examples/monte-carlo-pi/pi.wgsl: PCG-RXS-M-XS 32 and the same 15-bit
 * integer test, so every GPU must produce exactly these counts.
 */
export const MONTE_CARLO_SAMPLES = 4096

function pcg(state: number): [number, number] {
  const s = (Math.imul(state, 747796405) + 2891336453) >>> 0
  const word = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0
  return [s, ((word >>> 22) ^ word) >>> 0]
}

/** Hits inside the quarter circle for each seed. */
export function monteCarloHits(seeds: Uint32Array): Uint32Array {
  return seeds.map((seed) => {
    let state = seed
    let inside = 0
    for (let i = 0; i < MONTE_CARLO_SAMPLES; i++) {
      let x: number
      let y: number
      ;[state, x] = pcg(state)
      ;[state, y] = pcg(state)
      x >>>= 17
      y >>>= 17
      if (x * x + y * y < 1073741824) inside++
    }
    return inside
  })
}
