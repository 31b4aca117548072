/**
 * Writes the sweep's inputs: `seeds/batch-<i>.npy`, each a uint32 vector of distinct seeds.
 * Every file becomes one task of `tabswarm run spec.json`.
 *
 *   node make-seeds.ts [files=16] [seedsPerFile=4096]
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeNpy } from '@tabswarm/sdk'

const files = Number(process.argv[2] ?? 16)
const perFile = Number(process.argv[3] ?? 4096)
const dir = join(import.meta.dirname, 'seeds')
mkdirSync(dir, { recursive: true })
for (let f = 0; f < files; f++) {
  // Distinct seeds across the whole sweep, scrambled so neighbours are not correlated.
  const data = Uint32Array.from(
    { length: perFile },
    (_, i) => Math.imul(f * perFile + i + 1, 0x9e3779b1) >>> 0,
  )
  writeFileSync(join(dir, `batch-${f}.npy`), encodeNpy({ dtype: 'uint32', shape: [perFile], data }))
}
console.log(`wrote ${files} files of ${perFile} seeds to ${dir}`)
