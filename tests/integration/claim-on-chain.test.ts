import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import {
  ClaimRevertedError,
  claimOnChain,
  confirmClaim,
  NothingToClaimError,
  type WalletCredits,
  WrongChainError,
} from '@tabswarm/sdk'
import { createHardhatRuntimeEnvironment } from 'hardhat/hre'
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  type PublicClient,
} from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  creditTokenAbi,
  creditTokenBytecode,
} from '../../relay/src/settlement/contracts/CreditToken.artifact.ts'
import {
  cumulativeMerkleDistributorAbi,
  cumulativeMerkleDistributorBytecode,
} from '../../relay/src/settlement/contracts/CumulativeMerkleDistributor.artifact.ts'

/**
 * `claimOnChain` and `confirmClaim` (the SDK's, shared by the page and `tabswarm claim`)
 * against the real distributor on an in-process EDR chain: deployed from the committed
 * artifacts, roots posted as the coordinator would, claims sent by a wallet that pays gas.
 */

const MNEMONIC = 'test test test test test test test test test test test junk'
const owner = mnemonicToAccount(MNEMONIC, { addressIndex: 0 })
const alice = mnemonicToAccount(MNEMONIC, { addressIndex: 1 })
const bob = mnemonicToAccount(MNEMONIC, { addressIndex: 2 })
/** A wallet with no leaf: it pays the gas of a claim for alice, as anyone may. */
const helper = mnemonicToAccount(MNEMONIC, { addressIndex: 3 })

let close: () => Promise<void>
let chain: ReturnType<typeof defineChain>
let publicClient: PublicClient
let distributor: Hex
let token: Hex
let epoch = 0
let root: Hex

const walletOf = (account: typeof alice) =>
  createWalletClient({ account, chain, transport: http(chain.rpcUrls.default.http[0]) })

/** Posts a root paying `amounts` cumulatively (totals only grow), funded by minting the difference; returns the tree. */
async function postRoot(amounts: Array<[Hex, bigint]>) {
  const tree = StandardMerkleTree.of(
    amounts.map(([a, v]) => [a, v.toString()]),
    ['address', 'uint256'],
  )
  const total = amounts.reduce((sum, [, v]) => sum + v, 0n)
  const wallet = walletOf(owner)
  const mint = await wallet.writeContract({
    address: token,
    abi: creditTokenAbi,
    functionName: 'mint',
    args: [distributor, total],
  })
  await publicClient.waitForTransactionReceipt({ hash: mint })
  const post = await wallet.writeContract({
    address: distributor,
    abi: cumulativeMerkleDistributorAbi,
    functionName: 'postRoot',
    args: [BigInt(epoch + 1), tree.root as Hex, total],
  })
  await publicClient.waitForTransactionReceipt({ hash: post })
  epoch += 1
  root = tree.root as Hex
  return tree
}

/** What the relay would answer for `account`: its leaf in `tree` and what it has claimed. */
async function creditsOf(
  tree: StandardMerkleTree<[string, string]>,
  account: Hex,
): Promise<WalletCredits> {
  const claimed = await publicClient.readContract({
    address: distributor,
    abi: cumulativeMerkleDistributorAbi,
    functionName: 'claimed',
    args: [account],
  })
  for (const [i, [a, v]] of tree.entries())
    if (a.toLowerCase() === account.toLowerCase())
      return {
        address: account,
        pending: 0n,
        claimable: BigInt(v) - claimed,
        claimed,
        claim: {
          epoch,
          root,
          account,
          cumulativeAmount: BigInt(v),
          proof: tree.getProof(i) as Hex[],
        },
      }
  return { address: account, pending: 5n, claimable: 0n, claimed, claim: null }
}

const balanceOf = (account: Hex) =>
  publicClient.readContract({
    address: token,
    abi: creditTokenAbi,
    functionName: 'balanceOf',
    args: [account],
  })

beforeAll(async () => {
  const hre = await createHardhatRuntimeEnvironment({
    networks: { local: { type: 'edr-simulated', chainId: 31337 } },
  })
  const server = await hre.network.createServer('local', '127.0.0.1', 0)
  const { address, port } = await server.listen()
  close = () => server.close()
  chain = defineChain({
    id: 31337,
    name: 'EDR',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [`http://${address}:${port}`] } },
  })
  publicClient = createPublicClient({ chain, transport: http(), pollingInterval: 50 })
  const wallet = walletOf(owner)
  const deploy = async (hash: Hex) =>
    (await publicClient.waitForTransactionReceipt({ hash })).contractAddress as Hex
  token = await deploy(
    await wallet.deployContract({
      abi: creditTokenAbi,
      bytecode: creditTokenBytecode,
      args: [owner.address, 18],
    }),
  )
  distributor = await deploy(
    await wallet.deployContract({
      abi: cumulativeMerkleDistributorAbi,
      bytecode: cumulativeMerkleDistributorBytecode,
      args: [token, owner.address, owner.address],
    }),
  )
}, 60_000)
afterAll(() => close?.())

describe('claimOnChain against the distributor on an EDR chain', () => {
  it('claims, pays the difference across epochs, and a replay is refused before signing', async () => {
    const first = await postRoot([
      [alice.address, 700n],
      [bob.address, 300n],
    ])
    const stages: string[] = []
    const result = await claimOnChain({
      walletClient: walletOf(alice),
      publicClient,
      credits: await creditsOf(first, alice.address),
      distributor,
      onStage: (stage) => stages.push(stage),
    })
    expect(stages).toEqual(['checking', 'signing', 'confirming'])
    expect(result).toMatchObject({ paid: 700n, claimed: 700n })
    expect(await balanceOf(alice.address)).toBe(700n)

    // Claimed everything: the SDK says so instead of paying gas for nothing.
    await expect(
      claimOnChain({
        walletClient: walletOf(alice),
        publicClient,
        credits: await creditsOf(first, alice.address),
        distributor,
      }),
    ).rejects.toThrow(NothingToClaimError)

    const second = await postRoot([
      [alice.address, 1_000n],
      [bob.address, 300n],
    ])
    const again = await claimOnChain({
      walletClient: walletOf(alice),
      publicClient,
      credits: await creditsOf(second, alice.address),
      distributor,
    })
    expect(again).toMatchObject({ paid: 300n, claimed: 1_000n })
    expect(await balanceOf(alice.address)).toBe(1_000n)
  })

  it('lets any wallet pay the gas of a claim whose tokens go to the account', async () => {
    const tree = await postRoot([
      [alice.address, 1_000n],
      [bob.address, 450n],
    ])
    const before = await balanceOf(bob.address)
    const result = await claimOnChain({
      walletClient: walletOf(helper),
      publicClient,
      credits: await creditsOf(tree, bob.address),
      distributor,
    })
    expect(result.paid).toBe(450n)
    expect((await balanceOf(bob.address)) - before).toBe(450n)
    expect(await balanceOf(helper.address)).toBe(0n)
  })

  it('names a stale root and a wrong proof, with what to do', async () => {
    const tree = await postRoot([
      [alice.address, 1_100n],
      [bob.address, 450n],
    ])
    const credits = await creditsOf(tree, alice.address)
    const stale = { ...credits, claim: { ...credits.claim!, root: `0x${'11'.repeat(32)}` as Hex } }
    const staleErr = await claimOnChain({
      walletClient: walletOf(alice),
      publicClient,
      credits: stale,
      distributor,
    }).catch((e: unknown) => e)
    expect(staleErr).toBeInstanceOf(ClaimRevertedError)
    expect(staleErr).toMatchObject({ reason: 'StaleRoot' })
    expect((staleErr as Error).message).toMatch(/read the wallet’s credits again/)

    const forged = { ...credits, claim: { ...credits.claim!, cumulativeAmount: 5_000n } }
    await expect(
      claimOnChain({ walletClient: walletOf(alice), publicClient, credits: forged, distributor }),
    ).rejects.toMatchObject({ reason: 'InvalidProof' })
    expect(await balanceOf(alice.address)).toBe(1_000n)
  })

  it('refuses a wallet on another chain, and a wallet in no root yet', async () => {
    const tree = await postRoot([
      [alice.address, 1_100n],
      [bob.address, 450n],
    ])
    const other = defineChain({ ...chain, id: 1 })
    const elsewhere = createWalletClient({
      account: alice,
      chain: other,
      // A wallet that says it is on chain 1.
      transport: http(chain.rpcUrls.default.http[0]),
    })
    const onOtherChain = { ...elsewhere, getChainId: async () => 1 } as typeof elsewhere
    await expect(
      claimOnChain({
        walletClient: onOtherChain,
        publicClient,
        credits: await creditsOf(tree, alice.address),
        distributor,
      }),
    ).rejects.toThrow(WrongChainError)
    await expect(
      claimOnChain({
        walletClient: walletOf(alice),
        publicClient,
        credits: await creditsOf(tree, helper.address),
        distributor,
      }),
    ).rejects.toThrow(/no posted root yet/)
  })

  it('confirmClaim reports what a claim sent by someone else (the relay) paid', async () => {
    const tree = await postRoot([
      [alice.address, 1_250n],
      [bob.address, 450n],
    ])
    const credits = await creditsOf(tree, alice.address)
    const txHash = await walletOf(owner).writeContract({
      address: distributor,
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
        root,
      ],
    })
    const result = await confirmClaim({ publicClient, txHash, distributor, account: alice.address })
    expect(result).toMatchObject({ txHash, paid: credits.claimable, claimed: 1_250n })
    expect(credits.claimable).toBeGreaterThan(0n)
  })

  it('stops waiting when the signal aborts', async () => {
    const tree = await postRoot([
      [alice.address, 1_300n],
      [bob.address, 450n],
    ])
    const stopped = new AbortController()
    stopped.abort(new Error('left the page'))
    await expect(
      claimOnChain({
        walletClient: walletOf(alice),
        publicClient,
        credits: await creditsOf(tree, alice.address),
        distributor,
        signal: stopped.signal,
      }),
    ).rejects.toThrow('left the page')
  })
})
