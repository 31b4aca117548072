import { describe, expect, it } from 'vitest'
import {
  MONTE_CARLO_SAMPLES,
  monteCarloExpectation,
  monteCarloHits,
  monteCarloStandardError,
} from '../support/monte-carlo-reference.ts'

/**
 * The Monte Carlo example's estimator (examples/monte-carlo-pi/pi.wgsl, through its CPU
 * twin): unbiased to far below its standard error, and its error as stated.
 */
describe('the Monte Carlo pi estimator', () => {
  it('has an exact expectation within 1e-10 of π: no bias a sweep could see', () => {
    // The whole 2^24 × 2^24 grid of cell centres. The 15-bit grid of cell corners the example
    // used before had an expectation of 3.141714 (+1.2e-4).
    expect(Math.abs(monteCarloExpectation() - Math.PI)).toBeLessThan(1e-10)
  })

  it('estimates π within 4 standard errors from the seeds make-seeds.ts writes', () => {
    // make-seeds.ts's first 1024 seeds: 4 Mi samples, a standard error of about 0.0008.
    const seeds = Uint32Array.from({ length: 1024 }, (_, i) => Math.imul(i + 1, 0x9e3779b1) >>> 0)
    let hits = 0
    for (const h of monteCarloHits(seeds)) hits += h
    const samples = seeds.length * MONTE_CARLO_SAMPLES
    const error = monteCarloStandardError(hits, samples)
    expect(error).toBeCloseTo(4 * Math.sqrt(((Math.PI / 4) * (1 - Math.PI / 4)) / samples), 6)
    expect(Math.abs((4 * hits) / samples - Math.PI)).toBeLessThan(4 * error)
  })
})
