import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import { createPublicClient, erc20Abi, http } from 'viem'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../log.ts'
import { createSqliteStore } from '../store/sqlite-store.ts'
import { SETTLEMENT_DEFAULTS } from './settlement-config.ts'
import { startSettlementRuntime } from './settlement-runtime.ts'

const ALICE = '0x1000000000000000000000000000000000000001'
const BOB = '0x2000000000000000000000000000000000000002'

describe('settlement on the embedded chain', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-onchain-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('posts roots, pays claims in tokens, and after a restart redeploys and re-posts every root', async () => {
    const path = join(dir, 'coordinator.db')
    const earned = new Map([
      [ALICE, 30n],
      [BOB, 12n],
    ])
    const start = async () => {
      const store = createSqliteStore({ path })
      const runtime = await startSettlementRuntime({
        config: {
          mode: 'embedded',
          ...SETTLEMENT_DEFAULTS,
          operators: ['operator'],
          chainPort: 0,
          epochMinutes: 0,
          unitsPerCredit: 10n ** 6n,
        },
        store,
        earnedTotals: () => [...earned].map(([account, total]) => ({ account, total })),
        log: silentLogger,
      })
      return { runtime, store }
    }
    const balanceOf = (rpcUrl: string, token: string, account: string) =>
      createPublicClient({ transport: http(rpcUrl) }).readContract({
        address: token as `0x${string}`,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [account as `0x${string}`],
      })

    const first = await start()
    const { service, chain } = first.runtime
    expect(await service.closeEpoch()).toMatchObject({ closed: true, epoch: 1, state: 'confirmed' })
    expect(await service.closeEpoch()).toMatchObject({ closed: false })
    earned.set(ALICE, 35n)
    const second = await service.closeEpoch()
    expect(second).toMatchObject({ closed: true, epoch: 2, cumulativeTotal: '47000000' })

    const alice = await service.account(ALICE)
    expect(alice).toMatchObject({ pending: '0', claimable: '35000000', claimed: '0' })
    expect(
      StandardMerkleTree.verify(
        alice.claim?.root ?? '',
        ['address', 'uint256'],
        [ALICE, '35000000'],
        alice.claim?.proof ?? [],
      ),
    ).toBe(true)
    const claims = await service.submitClaims([ALICE, BOB])
    expect(claims.claims).toHaveLength(2)
    const rpcUrl = chain.rpcUrl as string
    expect(await balanceOf(rpcUrl, chain.token, ALICE)).toBe(35_000_000n)
    expect(await balanceOf(rpcUrl, chain.token, BOB)).toBe(12_000_000n)
    expect(await service.account(ALICE)).toMatchObject({ claimable: '0', claimed: '35000000' })
    await expect(service.submitClaims([ALICE])).rejects.toMatchObject({ code: 'NOTHING_TO_CLAIM' })
    const roots = [1, 2].map((n) => first.store.getEpoch(n)?.root)
    await first.runtime.stop()
    first.store.close()

    // A new process: a new, empty chain at the same addresses, every root posted again.
    const again = await start()
    expect(again.runtime.chain).toMatchObject({
      distributor: chain.distributor,
      token: chain.token,
    })
    expect((await again.runtime.service.info()).latestEpoch).toBe(2)
    expect([1, 2].map((n) => again.store.getEpoch(n)?.root)).toEqual(roots)
    // The chain forgot the claim: what the latest root holds is claimable again there.
    expect(await again.runtime.service.account(ALICE)).toMatchObject({
      claimable: '35000000',
      claimed: '0',
    })
    await again.runtime.stop()
    again.store.close()
  }, 120_000)
})
