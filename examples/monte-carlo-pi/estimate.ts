/**
 * Reads the sweep's outputs (`out/*.npy`, hits per seed) and prints the estimate of pi.
 *
 *   npx node estimate.ts [--dir out]
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { parseNpy } from '@tabswarm/sdk'

/** Samples per seed, as in pi.wgsl. */
const SAMPLES = 4096
const { values } = parseArgs({
  options: { dir: { type: 'string', default: join(import.meta.dirname, 'out') } },
})
const dir = resolve(values.dir)
let hits = 0
let samples = 0
for (const file of readdirSync(dir).filter((f) => f.endsWith('.npy'))) {
  const { dtype, data } = parseNpy(readFileSync(join(dir, file)))
  if (dtype !== 'uint32') throw new Error(`${file}: expected uint32 hit counts, got ${dtype}`)
  for (const h of data) hits += h
  samples += data.length * SAMPLES
}
if (samples === 0) throw new Error(`no outputs in ${dir}: run 'npx tabswarm run spec.json' first`)
// Each sample is a Bernoulli trial with p = π/4 (pi.wgsl's cell-centre sampling is unbiased
// to about 2e-11), so the estimate 4p̂ has standard error 4·sqrt(p̂(1 − p̂)/N): the estimate is
// within 2 of them of π about 95% of the time. Seeds are distinct; samples within a seed
// come from one generator stream, across seeds from different streams.
const p = hits / samples
const standardError = 4 * Math.sqrt((p * (1 - p)) / samples)
console.log(
  `pi ≈ ${(4 * p).toFixed(6)} ± ${standardError.toFixed(6)} (standard error) from ${samples.toLocaleString('en')} samples`,
)
