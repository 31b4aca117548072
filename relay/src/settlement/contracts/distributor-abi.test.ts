import { distributorAbi } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { cumulativeMerkleDistributorAbi } from './CumulativeMerkleDistributor.artifact.ts'

/**
 * The page and the SDK claim through `distributorAbi`, a browser-safe copy in
 * `@tabswarm/protocol` of some of the compiled contract's entries. A change to the contract
 * recompiles the artifact; this test then names every copied entry that no longer matches.
 */
describe('distributorAbi (protocol) against the compiled artifact', () => {
  const key = (entry: { type: string; name?: string }) => `${entry.type} ${entry.name ?? ''}`
  const compiled = new Map(cumulativeMerkleDistributorAbi.map((entry) => [key(entry), entry]))

  it.each(distributorAbi.map((entry) => [key(entry), entry] as const))(
    '%s equals the artifact entry',
    (name, entry) => {
      expect(compiled.get(name), `${name} is not in the artifact`).toBeDefined()
      expect(entry).toEqual(compiled.get(name))
    },
  )

  it('has every error claim and claimMany can revert with', () => {
    const copied = new Set(distributorAbi.filter((e) => e.type === 'error').map((e) => e.name))
    for (const name of ['EnforcedPause', 'InvalidProof', 'StaleRoot', 'SafeERC20FailedOperation'])
      expect(copied).toContain(name)
  })
})
