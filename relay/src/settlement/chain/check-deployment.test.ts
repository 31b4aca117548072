import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SettlementError } from '../settlement-error.ts'
import { type SettlementFixture, startSettlementFixture } from '../testing/settlement-fixture.ts'
import { checkDistributor } from './check-deployment.ts'
import { deployDistributor } from './deploy-settlement.ts'

let f: SettlementFixture
beforeAll(async () => {
  f = await startSettlementFixture()
}, 60_000)
afterAll(() => f?.close())

const check = (expected: Partial<Parameters<typeof checkDistributor>[1]>) =>
  checkDistributor(
    f.publicClient,
    { distributor: f.distributor, token: f.token, poster: f.poster.address, ...expected },
    AbortSignal.timeout(10_000),
  )

describe('checkDistributor', () => {
  it('accepts the distributor deployed for this relay', async () => {
    await expect(check({})).resolves.toBeUndefined()
    // Addresses compare whatever their case.
    await expect(
      check({ distributor: f.distributor.toLowerCase() as `0x${string}` }),
    ).resolves.toBeUndefined()
  })

  it('refuses an address with no code, and another contract', async () => {
    const none = check({ distributor: f.chain.devAccounts[9]!.address })
    await expect(none).rejects.toThrow(SettlementError)
    await expect(none).rejects.toMatchObject({ code: 'WRONG_CONTRACT' })
    await expect(none).rejects.toThrow(
      /No contract at the configured distributor 0x[0-9a-fA-F]{40}/,
    )
    // The credit token is a contract, but not the distributor.
    const token = check({ distributor: f.token })
    await expect(token).rejects.toMatchObject({ code: 'WRONG_CONTRACT' })
    await expect(token).rejects.toThrow(
      /is not this relay's CumulativeMerkleDistributor: its runtime code is \d+ bytes, this build's is \d+\. Point the relay at the right address/,
    )
  })

  it('refuses a distributor of another token: same code, another immutable', async () => {
    const other = await deployDistributor({
      rpcUrl: f.chain.rpcUrl,
      deployer: f.owner,
      token: f.chain.devAccounts[8]!.address,
      rootPoster: f.poster.address,
      signal: AbortSignal.timeout(10_000),
    })
    const wrong = check({ distributor: other.distributor })
    await expect(wrong).rejects.toMatchObject({ code: 'WRONG_TOKEN' })
    await expect(wrong).rejects.toThrow(
      `pays token ${f.chain.devAccounts[8]!.address}, but the relay is configured with token ${f.token}`,
    )
  })

  it('refuses a poster key that is not the root poster, naming both and the fix', async () => {
    const stranger = f.chain.devAccounts[7]!.address
    const wrong = check({ poster: stranger })
    await expect(wrong).rejects.toMatchObject({ code: 'WRONG_POSTER' })
    await expect(wrong).rejects.toThrow(
      `takes roots from ${f.poster.address}, but the relay's poster key is ${stranger}. Configure the poster's key, or have the distributor's owner call setRootPoster(${stranger}).`,
    )
  })
})
