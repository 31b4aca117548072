import {
  ClaimRevertedError,
  claimOnChain,
  confirmClaim,
  NothingToClaimError,
  WrongChainError,
} from '@tabswarm/sdk'
import type { Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cumulativeMerkleDistributorAbi } from '../../relay/src/settlement/contracts/CumulativeMerkleDistributor.artifact.ts'
import {
  type DistributorChain,
  devAccount,
  startDistributorChain,
} from '../support/distributor-chain.ts'

/**
 * `claimOnChain` and `confirmClaim` (the SDK's, shared by the page and `tabswarm claim`)
 * against the real distributor on an in-process EDR chain: deployed from the committed
 * artifacts, roots posted as the coordinator would, claims sent by a wallet that pays gas.
 */

const alice = devAccount(1)
const bob = devAccount(2)
/** A wallet with no leaf: it pays the gas of a claim for bob, as anyone may. */
const helper = devAccount(3)

let c: DistributorChain
beforeAll(async () => {
  c = await startDistributorChain()
}, 60_000)
afterAll(() => c?.close())

const claimAs = (
  account: typeof alice,
  credits: Awaited<ReturnType<DistributorChain['creditsOf']>>,
) =>
  claimOnChain({
    walletClient: c.walletOf(account),
    publicClient: c.publicClient,
    credits,
    distributor: c.distributor,
  })

describe('claimOnChain against the distributor on an EDR chain', () => {
  it('claims, pays the difference across epochs, and refuses to send a claim that pays nothing', async () => {
    await c.postRoot([
      [alice.address, 700n],
      [bob.address, 300n],
    ])
    const stages: string[] = []
    const result = await claimOnChain({
      walletClient: c.walletOf(alice),
      publicClient: c.publicClient,
      credits: await c.creditsOf(alice.address),
      distributor: c.distributor,
      onStage: (stage) => stages.push(stage),
    })
    expect(stages).toEqual(['checking', 'signing', 'confirming'])
    expect(result).toMatchObject({ paid: 700n, claimed: 700n })
    expect(result.gasUsed).toBeGreaterThan(0n)
    expect(await c.balanceOf(alice.address)).toBe(700n)

    // Claimed everything: the SDK says so instead of paying gas for nothing.
    await expect(claimAs(alice, await c.creditsOf(alice.address))).rejects.toThrow(
      NothingToClaimError,
    )

    await c.postRoot([
      [alice.address, 1_000n],
      [bob.address, 300n],
    ])
    const again = await claimAs(alice, await c.creditsOf(alice.address))
    expect(again).toMatchObject({ paid: 300n, claimed: 1_000n })
    expect(await c.balanceOf(alice.address)).toBe(1_000n)
  })

  it('lets any wallet pay the gas of a claim whose tokens go to the account', async () => {
    await c.postRoot([
      [alice.address, 1_000n],
      [bob.address, 450n],
    ])
    const before = await c.balanceOf(bob.address)
    const result = await claimAs(helper, await c.creditsOf(bob.address))
    expect(result.paid).toBe(450n - before)
    expect((await c.balanceOf(bob.address)) - before).toBe(result.paid)
    expect(await c.balanceOf(helper.address)).toBe(0n)
  })

  it('names a stale root and a wrong proof, with what to do, and pays nothing', async () => {
    await c.postRoot([
      [alice.address, 1_100n],
      [bob.address, 450n],
    ])
    const credits = await c.creditsOf(alice.address)
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
    const credits = await c.creditsOf(alice.address)
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
    await expect(claimAs(alice, await c.creditsOf(helper.address, 5n))).rejects.toThrow(
      /no posted root yet/,
    )
  })

  it('confirmClaim reports what a claim sent by someone else (the relay) paid', async () => {
    await c.postRoot([
      [alice.address, 1_250n],
      [bob.address, 450n],
    ])
    const credits = await c.creditsOf(alice.address)
    expect(credits.claimable).toBeGreaterThan(0n)
    const txHash = await c.walletOf(c.owner).writeContract({
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
        c.root(),
      ],
      chain: c.chain,
      account: c.owner,
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
    await c.postRoot([
      [alice.address, 1_300n],
      [bob.address, 450n],
    ])
    const stopped = new AbortController()
    stopped.abort(new Error('left the page'))
    await expect(
      claimOnChain({
        walletClient: c.walletOf(alice),
        publicClient: c.publicClient,
        credits: await c.creditsOf(alice.address),
        distributor: c.distributor,
        signal: stopped.signal,
      }),
    ).rejects.toThrow('left the page')
  })
})
