/**
 * Compiles the Solidity in `relay/contracts/` with solc-js (the `solc` npm package, pinned,
 * so no compiler is ever downloaded) and writes each contract's ABI and bytecode to
 * `relay/src/settlement/contracts/<Name>.artifact.ts`, which the relay imports.
 *
 *   node relay/scripts/compile-contracts.ts          # writes the artifacts
 *   node relay/scripts/compile-contracts.ts --check  # exits 1 when they are out of date
 */
import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { compileContracts, renderArtifact } from '../src/settlement/contracts/compile.ts'

const check = process.argv.includes('--check')
const outDir = fileURLToPath(new URL('../src/settlement/contracts/', import.meta.url))
let stale = 0
for (const artifact of await compileContracts()) {
  const path = `${outDir}${artifact.contractName}.artifact.ts`
  const text = renderArtifact(artifact)
  if (check) {
    const { readFile } = await import('node:fs/promises')
    const current = await readFile(path, 'utf8').catch(() => '')
    if (current !== text) {
      console.error(`${path} is out of date: run node relay/scripts/compile-contracts.ts`)
      stale++
    }
  } else {
    await writeFile(path, text)
    console.log(`wrote ${path}`)
  }
}
process.exitCode = stale > 0 ? 1 : 0
