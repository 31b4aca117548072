import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import type { WalletCredits } from '@tabswarm/sdk'
import { createHardhatRuntimeEnvironment } from 'hardhat/hre'
import {
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  type PublicClient,
} from 'viem'
import { type HDAccount, mnemonicToAccount } from 'viem/accounts'
import {
  creditTokenAbi,
  creditTokenBytecode,
} from '../../relay/src/settlement/contracts/CreditToken.artifact.ts'
import {
  cumulativeMerkleDistributorAbi,
  cumulativeMerkleDistributorBytecode,
} from '../../relay/src/settlement/contracts/CumulativeMerkleDistributor.artifact.ts'

/** Hardhat's default dev mnemonic: every account holds 10000 ETH on a fresh EDR chain. */
const MNEMONIC = 'test test test test test test test test test test test junk'
export const devAccount = (index: number): HDAccount =>
  mnemonicToAccount(MNEMONIC, { addressIndex: index })

export interface DistributorChain {
  chain: Chain
  rpcUrl: string
  publicClient: PublicClient
  token: Hex
  distributor: Hex
  /** Deploys, mints and posts roots: dev account 0. */
  owner: HDAccount
  epoch(): number
  root(): Hex
  walletOf(account: HDAccount): ReturnType<typeof createWalletClient>
  /**
   * Posts the next epoch's root paying `amounts` cumulatively (totals may only grow), funded
   * by minting its total to the distributor, as the coordinator's epoch close would.
   */
  postRoot(amounts: Array<[Hex, bigint]>): Promise<StandardMerkleTree<[string, string]>>
  /** What the relay would answer for `account`: its leaf in the latest tree and what it claimed. */
  creditsOf(account: Hex, pending?: bigint): Promise<WalletCredits>
  balanceOf(account: Hex): Promise<bigint>
  close(): Promise<void>
}

/**
 * An in-process EDR chain (Hardhat 3) with a JSON-RPC server, the credit token (18
 * decimals) and the distributor deployed from the relay's committed artifacts.
 */
export async function startDistributorChain(): Promise<DistributorChain> {
  const hre = await createHardhatRuntimeEnvironment({
    networks: { local: { type: 'edr-simulated', chainId: 31337 } },
  })
  const server = await hre.network.createServer('local', '127.0.0.1', 0)
  const { address, port } = await server.listen()
  const rpcUrl = `http://${address}:${port}`
  const chain: Chain = defineChain({
    id: 31337,
    name: 'EDR',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
  const publicClient: PublicClient = createPublicClient({
    chain,
    transport: http(),
    pollingInterval: 50,
  })
  const owner = devAccount(0)
  const walletOf = (account: HDAccount) => createWalletClient({ account, chain, transport: http() })
  const wallet = walletOf(owner)
  const mined = async (hash: Hex) => publicClient.waitForTransactionReceipt({ hash })
  const token = (
    await mined(
      await wallet.deployContract({
        abi: creditTokenAbi,
        bytecode: creditTokenBytecode,
        args: [owner.address, 18],
        chain,
        account: owner,
      }),
    )
  ).contractAddress as Hex
  const distributor = (
    await mined(
      await wallet.deployContract({
        abi: cumulativeMerkleDistributorAbi,
        bytecode: cumulativeMerkleDistributorBytecode,
        args: [token, owner.address, owner.address],
        chain,
        account: owner,
      }),
    )
  ).contractAddress as Hex

  let epoch = 0
  let root: Hex = `0x${'00'.repeat(32)}`
  let tree: StandardMerkleTree<[string, string]> | undefined
  const claimedOf = (account: Hex) =>
    publicClient.readContract({
      address: distributor,
      abi: cumulativeMerkleDistributorAbi,
      functionName: 'claimed',
      args: [account],
    })

  return {
    chain,
    rpcUrl,
    publicClient,
    token,
    distributor,
    owner,
    epoch: () => epoch,
    root: () => root,
    walletOf,
    async postRoot(amounts) {
      const next = StandardMerkleTree.of(
        amounts.map(([a, v]): [string, string] => [a, v.toString()]),
        ['address', 'uint256'],
      )
      const total = amounts.reduce((sum, [, v]) => sum + v, 0n)
      await mined(
        await wallet.writeContract({
          address: token,
          abi: creditTokenAbi,
          functionName: 'mint',
          args: [distributor, total],
          chain,
          account: owner,
        }),
      )
      await mined(
        await wallet.writeContract({
          address: distributor,
          abi: cumulativeMerkleDistributorAbi,
          functionName: 'postRoot',
          args: [BigInt(epoch + 1), next.root as Hex, total],
          chain,
          account: owner,
        }),
      )
      epoch += 1
      root = next.root as Hex
      tree = next
      return next
    },
    async creditsOf(account, pending = 0n) {
      const claimed = await claimedOf(account)
      for (const [i, [a, v]] of tree?.entries() ?? [])
        if (a.toLowerCase() === account.toLowerCase())
          return {
            address: account,
            pending,
            claimable: BigInt(v) - claimed,
            claimed,
            claim: {
              epoch,
              root,
              account,
              cumulativeAmount: BigInt(v),
              proof: tree!.getProof(i) as Hex[],
            },
          }
      return { address: account, pending, claimable: 0n, claimed, claim: null }
    },
    balanceOf: (account) =>
      publicClient.readContract({
        address: token,
        abi: creditTokenAbi,
        functionName: 'balanceOf',
        args: [account],
      }),
    close: () => server.close(),
  }
}
