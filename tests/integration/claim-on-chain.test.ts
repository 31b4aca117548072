import {
  ClaimRevertedError,
  claimOnChain,
  confirmClaim,
  NothingToClaimError,
  type WalletCredits,
  WrongChainError,
} from '@tabswarm/sdk'
import type { Hex, LocalAccount } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cumulativeMerkleDistributorAbi } from '../../relay/src/settlement/contracts/CumulativeMerkleDistributor.artifact.ts'
import {
  type EpochTree,
  leafOf,
  type SettlementFixture,
  startSettlementFixture,
} from '../../relay/src/settlement/testing/settlement-fixture.ts'

/**
 * `claimOnChain` and `confirmClaim` (the SDK's, shared by the page and `tabswarm claim`)
 * against the real distributor on an in-process EDR chain: the relay's settlement fixture
 * deploys it and posts epochs as the coordinator does; claims are sent by a wallet that pays
 * gas. Amounts are chosen here, so each claim's payout is known exactly.
 */

let c: SettlementFixture
let alice: LocalAccount
let bob: LocalAccount
/** A wallet with no leaf: it pays the gas of a claim for bob, as anyone may. */
let helper: LocalAccount
/** The latest epoch the fixture posted. */
let latest: { tree: EpochTree; root: Hex; epoch: number }

beforeAll(async () => {
  c = await startSettlementFixture()
  ;[alice, bob, helper] = c.chain.devAccounts.slice(2) as [LocalAccount, LocalAccount, LocalAccount]
}, 60_000)
afterAll(() => c?.close())

/** Adds `earned` to each account's cumulative amount and posts the next root. */
const postEpoch = async (earned: Array<[LocalAccount, bigint]>) => {
  latest = await c.postEpoch(earned.map(([account, amount]) => [account.address, amount]))
}

/** What the relay answers for `account` (`GET /v1/settlement/accounts/:address`), from the latest epoch. */
async function creditsOf(account: Hex, pending = 0n): Promise<WalletCredits> {
  const claimed = await c.publicClient.readContract({
    address: c.distributor,
    abi: cumulativeMerkleDistributorAbi,
    functionName: 'claimed',
    args: [account],
  })
  const inTree = [...latest.tree.entries()].some(
    ([, [a]]) => a.toLowerCase() === account.toLowerCase(),
  )
  if (!inTree) return { address: account, pending, claimable: 0n, claimed, claim: null }
  const { amount, proof } = leafOf(latest.tree, account)
  return {
    address: account,
    pending,
    claimable: amount - claimed,
    claimed,
    claim: { epoch: latest.epoch, root: latest.root, account, cumulativeAmount: amount, proof },
  }
}

const claimAs = (account: LocalAccount, credits: WalletCredits) =>
  claimOnChain({
    walletClient: c.walletOf(account),
    publicClient: c.publicClient,
    credits,
    distributor: c.distributor,
  })

describe('claimOnChain against the distributor on an EDR chain', () => {
  it('claims, pays the difference across epochs, and refuses to send a claim that pays nothing', async () => {
    await postEpoch([
      [alice, 700n],
      [bob, 300n],
    ])
    const stages: string[] = []
    const result = await claimOnChain({
      walletClient: c.walletOf(alice),
      publicClient: c.publicClient,
      credits: await creditsOf(alice.address),
      distributor: c.distributor,
      onStage: (stage) => stages.push(stage),
    })
    expect(stages).toEqual(['checking', 'signing', 'confirming'])
    expect(result).toMatchObject({ paid: 700n, claimed: 700n })
    expect(result.gasUsed).toBeGreaterThan(0n)
    expect(await c.balanceOf(alice.address)).toBe(700n)

    // Claimed everything: the SDK says so instead of paying gas for nothing.
    await expect(claimAs(alice, await creditsOf(alice.address))).rejects.toThrow(
      NothingToClaimError,
    )

    await postEpoch([[alice, 300n]])
    const again = await claimAs(alice, await creditsOf(alice.address))
    expect(again).toMatchObject({ paid: 300n, claimed: 1_000n })
    expect(await c.balanceOf(alice.address)).toBe(1_000n)
  })

  it('lets any wallet pay the gas of a claim whose tokens go to the account', async () => {
    await postEpoch([[bob, 150n]])
    const before = await c.balanceOf(bob.address)
    const result = await claimAs(helper, await creditsOf(bob.address))
    expect(result.paid).toBe(450n - before)
    expect((await c.balanceOf(bob.address)) - before).toBe(result.paid)
    expect(await c.balanceOf(helper.address)).toBe(0n)
  })

  it('names a stale root and a wrong proof, with what to do, and pays nothing', async () => {
    await postEpoch([[alice, 100n]])
    const credits = await creditsOf(alice.address)
    const stale = { ...credits, claim: { ...credits.claim!, root: `0x${'11'.repeat(32)}` as Hex } }
    const staleErr = await claimAs(alice, stale).catch((e: unknown) => e)
    expect(staleErr).toBeInstanceOf(ClaimRevertedError)
    expect(staleErr).toMatchObject({ reason: 'StaleRoot' })
    expect((staleErr as Error).message).toMatch(/read the wallet’s credits again/)

    const forged = { ...credits, claim: { ...credits.claim!, cumulativeAmount: 5_000n } }
    await expect(claimAs(alice, forged)).rejects.toMatchObject({ reason: 'InvalidProof' })
    expect(await c.balanceOf(alice.address)).toBe(1_000n)
  })

  it('refuses a wallet on another chain, and a wallet in no root yet', async () => {
    const credits = await creditsOf(alice.address)
    const wallet = c.walletOf(alice)
    // A wallet that says it is on chain 1.
    const elsewhere = { ...wallet, getChainId: async () => 1 } as typeof wallet
    await expect(
      claimOnChain({
        walletClient: elsewhere,
        publicClient: c.publicClient,
        credits,
        distributor: c.distributor,
      }),
    ).rejects.toThrow(WrongChainError)
    await expect(claimAs(alice, await creditsOf(helper.address, 5n))).rejects.toThrow(
      /no posted root yet/,
    )
  })

  it('confirmClaim reports what a claim sent by someone else (the relay) paid', async () => {
    await postEpoch([[alice, 150n]])
    const credits = await creditsOf(alice.address)
    expect(credits.claimable).toBeGreaterThan(0n)
    // The relay's poster pays the gas of claims it is asked for.
    const txHash = await c.walletOf(c.poster).writeContract({
      address: c.distributor,
      abi: cumulativeMerkleDistributorAbi,
      functionName: 'claimMany',
      args: [
        [
          {
            account: alice.address,
            cumulativeAmount: credits.claim!.cumulativeAmount,
            proof: credits.claim!.proof,
          },
        ],
        latest.root,
      ],
    })
    const result = await confirmClaim({
      publicClient: c.publicClient,
      txHash,
      distributor: c.distributor,
      account: alice.address,
    })
    expect(result).toMatchObject({ txHash, paid: credits.claimable, claimed: 1_250n })
  })

  it('stops waiting when the signal aborts', async () => {
    await postEpoch([[alice, 50n]])
    const stopped = new AbortController()
    stopped.abort(new Error('left the page'))
    await expect(
      claimOnChain({
        walletClient: c.walletOf(alice),
        publicClient: c.publicClient,
        credits: await creditsOf(alice.address),
        distributor: c.distributor,
        signal: stopped.signal,
      }),
    ).rejects.toThrow('left the page')
  })
})
