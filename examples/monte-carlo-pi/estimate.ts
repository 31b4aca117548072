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
const pi = (4 * hits) / samples
const stderr = 4 * Math.sqrt(((hits / samples) * (1 - hits / samples)) / samples)
console.log(
  `pi ≈ ${pi.toFixed(6)} ± ${stderr.toFixed(6)} from ${samples.toLocaleString('en')} samples`,
)
