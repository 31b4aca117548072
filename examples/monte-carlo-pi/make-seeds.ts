/**
 * Writes the sweep's inputs: `seeds/batch-<i>.npy`, each a uint32 vector of distinct seeds.
 * Every file becomes one task of `tabswarm run spec.json`.
 *
 *   npx node make-seeds.ts [--files 16] [--per-file 4096] [--dir seeds]
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { encodeNpy } from '@tabswarm/sdk'

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '16' },
    'per-file': { type: 'string', default: '4096' },
    dir: { type: 'string', default: join(import.meta.dirname, 'seeds') },
  },
})
const files = Number(values.files)
const perFile = Number(values['per-file'])
if (![files, perFile].every((x) => Number.isSafeInteger(x) && x > 0))
  throw new Error('--files and --per-file must be positive integers')
const dir = resolve(values.dir)
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
