/**
 * The CPU twin of examples/monte-carlo-pi/pi.wgsl: the same hash, PCG stream and exact
 * cell-centre test, so every GPU must produce exactly these counts.
 */
export const MONTE_CARLO_SAMPLES = 4096

/** lowbias32, as `hash` in pi.wgsl. */
function hash(v: number): number {
  let x = v >>> 0
  x = (x ^ (x >>> 16)) >>> 0
  x = Math.imul(x, 0x7feb352d) >>> 0
  x = (x ^ (x >>> 15)) >>> 0
  x = Math.imul(x, 0x846ca68b) >>> 0
  return (x ^ (x >>> 16)) >>> 0
}

/**
 * `(x + 0.5)² + (y + 0.5)² < 2^48` for 24-bit x and y, as `inside_circle` in pi.wgsl: exact
 * in doubles, since x(x + 1) + y(y + 1) < 2^49.
 */
export function insideCircle(x: number, y: number): boolean {
  return x * (x + 1) + y * (y + 1) < 2 ** 48
}

/** Hits inside the quarter circle for each seed. */
export function monteCarloHits(seeds: Uint32Array): Uint32Array {
  return seeds.map((seed) => {
    let state = hash(seed)
    const inc = ((hash((seed ^ 0x9e3779b9) >>> 0) << 1) | 1) >>> 0
    const next = () => {
      state = (Math.imul(state, 747796405) + inc) >>> 0
      const s = state
      const word = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0
      return ((word >>> 22) ^ word) >>> 0
    }
    let inside = 0
    for (let i = 0; i < MONTE_CARLO_SAMPLES; i++) {
      const x = next() >>> 8
      const y = next() >>> 8
      if (insideCircle(x, y)) inside++
    }
    return inside
  })
}

/**
 * The estimator's exact expectation: 4 × the fraction of the 2^24 × 2^24 grid of cell
 * centres inside the quarter circle (the hit rate of an ideal generator). Its distance from
 * π is the estimator's bias.
 */
export function monteCarloExpectation(): number {
  const cells = 2 ** 24
  let count = 0
  for (let x = 0; x < cells; x++) {
    // y(y + 1) < limit: the largest such y, found from the square root and corrected.
    const limit = 2 ** 48 - x * (x + 1)
    let y = Math.floor(Math.sqrt(limit))
    while (y * (y + 1) >= limit) y--
    while ((y + 1) * (y + 2) < limit) y++
    count += y + 1
  }
  return (4 * count) / cells / cells
}

/** The standard error of the estimate from `hits` of `samples`: 4·sqrt(p(1 − p)/N). */
export function monteCarloStandardError(hits: number, samples: number): number {
  const p = hits / samples
  return 4 * Math.sqrt((p * (1 - p)) / samples)
}
