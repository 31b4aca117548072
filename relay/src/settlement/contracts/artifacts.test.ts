import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { compileContracts, renderArtifact } from './compile.ts'

describe('contract artifacts', () => {
  it('are what the Solidity in relay/contracts compiles to (else: node relay/scripts/compile-contracts.ts)', async () => {
    const artifacts = await compileContracts()
    expect(artifacts.map((a) => a.contractName)).toEqual([
      'CreditToken',
      'CumulativeMerkleDistributor',
    ])
    for (const artifact of artifacts) {
      const committed = await readFile(
        new URL(`./${artifact.contractName}.artifact.ts`, import.meta.url),
        'utf8',
      )
      expect(committed, `${artifact.contractName}.artifact.ts is stale`).toBe(
        renderArtifact(artifact),
      )
    }
  }, 60_000)
})
