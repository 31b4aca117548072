import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import {
  createPublicClient,
  createWalletClient,
  http,
  type LocalAccount,
  type PublicClient,
} from 'viem'
import { hardhat } from 'viem/chains'
import { deploySettlement } from '../chain/deploy-settlement.ts'
import { type LocalChain, startLocalChain } from '../chain/local-chain.ts'
import type { Address, Hex } from '../chain/settlement-chain.ts'
import { creditTokenAbi } from '../contracts/CreditToken.artifact.ts'
import { cumulativeMerkleDistributorAbi } from '../contracts/CumulativeMerkleDistributor.artifact.ts'

/** One epoch's tree, as the coordinator builds it: leaves `(account, cumulativeAmount)`. */
export type EpochTree = StandardMerkleTree<[Address, bigint]>

/**
 * The fixture of the settlement tests and the gas bench: an in-process chain with the token
 * and the distributor deployed (owner: dev account 0; root poster and token owner: dev
 * account 1), and the steps a coordinator takes to post an epoch.
 */
export interface SettlementFixture {
  chain: LocalChain
  publicClient: PublicClient
  owner: LocalAccount
  poster: LocalAccount
  /** The poster's private key (dev account 1's), for `createViemSettlementChain`. */
  posterKey: Hex
  token: Address
  distributor: Address
  /** A wallet client of `account` on this chain. */
  walletOf(account: LocalAccount): ReturnType<typeof walletClientOf>
  /**
   * What a coordinator does at the end of an epoch: adds `earned` to each account's
   * cumulative amount, builds the tree of every account so far, mints what the distributor
   * lacks and posts the root as the next epoch.
   */
  postEpoch(
    earned: Array<[Address, bigint]>,
  ): Promise<{ tree: EpochTree; root: Hex; epoch: number; hash: Hex }>
  /** Token balance of `account`. */
  balanceOf(account: Address): Promise<bigint>
  close(): Promise<void>
}

export async function startSettlementFixture(signal = AbortSignal.timeout(60_000)) {
  const chain = await startLocalChain({ signal })
  const [owner, poster] = chain.devAccounts as [LocalAccount, LocalAccount]
  const { token, distributor } = await deploySettlement({
    rpcUrl: chain.rpcUrl,
    deployer: owner,
    rootPoster: poster.address,
    signal,
  })
  const publicClient = createPublicClient({
    chain: hardhat,
    transport: http(chain.rpcUrl),
    pollingInterval: 50,
  }) as PublicClient
  const walletOf = (account: LocalAccount) => walletClientOf(chain.rpcUrl, account)
  const posterWallet = walletOf(poster)
  const mined = async (hash: Hex) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`)
    return receipt
  }
  const balanceOf = (account: Address) =>
    publicClient.readContract({
      address: token,
      abi: creditTokenAbi,
      functionName: 'balanceOf',
      args: [account],
    })
  const read = <F extends 'epoch' | 'totalClaimed' | 'cumulativeTotal'>(functionName: F) =>
    publicClient.readContract({
      address: distributor,
      abi: cumulativeMerkleDistributorAbi,
      functionName,
    })

  /** Each account's cumulative earnings over every epoch posted, as the ledger keeps them. */
  const cumulative = new Map<Address, bigint>()

  const fixture: SettlementFixture = {
    chain,
    publicClient,
    owner,
    poster,
    posterKey: chain.devPrivateKeys[1]!,
    token,
    distributor,
    walletOf,
    balanceOf,
    async postEpoch(earned) {
      for (const [account, amount] of earned)
        cumulative.set(account, (cumulative.get(account) ?? 0n) + amount)
      const leaves = [...cumulative]
      const tree = StandardMerkleTree.of(leaves, ['address', 'uint256'])
      const [epoch, paid, held, posted] = await Promise.all([
        read('epoch'),
        read('totalClaimed'),
        balanceOf(distributor),
        read('cumulativeTotal'),
      ])
      // The leaves' sum, or the posted total when a test posted other roots beside the fixture.
      const sum = leaves.reduce((acc, [, amount]) => acc + amount, 0n)
      const total = sum > posted ? sum : posted
      if (total > paid + held)
        await mined(
          await posterWallet.writeContract({
            address: token,
            abi: creditTokenAbi,
            functionName: 'mint',
            args: [distributor, total - paid - held],
          }),
        )
      const root = tree.root as Hex
      const hash = await posterWallet.writeContract({
        address: distributor,
        abi: cumulativeMerkleDistributorAbi,
        functionName: 'postRoot',
        args: [epoch + 1n, root, total],
      })
      await mined(hash)
      return { tree, root, epoch: Number(epoch) + 1, hash }
    },
    close: () => chain.close(),
  }
  return fixture
}

function walletClientOf(rpcUrl: string, account: LocalAccount) {
  return createWalletClient({
    account,
    chain: hardhat,
    transport: http(rpcUrl),
    pollingInterval: 50,
  })
}

/** The proof of `account`'s leaf in `tree`, with its cumulative amount. */
export function leafOf(tree: EpochTree, account: Address): { amount: bigint; proof: Hex[] } {
  for (const [i, [address, amount]] of tree.entries())
    if (address.toLowerCase() === account.toLowerCase())
      return { amount: BigInt(amount), proof: tree.getProof(i) as Hex[] }
  throw new Error(`${account} has no leaf in the tree`)
}
