import { type Abi, type Account, getAddress, type Hex } from 'viem'
import { creditTokenAbi, creditTokenBytecode } from '../contracts/CreditToken.artifact.ts'
import {
  cumulativeMerkleDistributorAbi,
  cumulativeMerkleDistributorBytecode,
} from '../contracts/CumulativeMerkleDistributor.artifact.ts'
import { SettlementError } from '../settlement-error.ts'
import { CHAIN_TIMEOUT_MS, withDeadline } from './deadline.ts'
import { rpcClients } from './rpc-clients.ts'
import type { Address } from './settlement-chain.ts'

/** Decimals of the development credit token by default (as USDC: one credit = 10^6 units). */
export const CREDIT_TOKEN_DECIMALS = 6

export interface DeployDistributorOptions {
  rpcUrl: string
  /** Pays for the deployment; owner and root poster unless given. */
  deployer: Account
  /** The ERC-20 claims are paid in. */
  token: Address
  /** May rotate the poster and pause; default the deployer. */
  owner?: Address
  /** Posts roots (the relay's key); default the deployer. */
  rootPoster?: Address
  signal: AbortSignal
  /** For each transaction and its receipt; default {@link CHAIN_TIMEOUT_MS}. */
  timeoutMs?: number
}

export interface DeploySettlementOptions extends Omit<DeployDistributorOptions, 'token'> {
  /** The credit token's decimals; default {@link CREDIT_TOKEN_DECIMALS}. */
  decimals?: number
}

/** Where the settlement contracts live. */
export interface SettlementDeployment {
  token: Address
  distributor: Address
}

/**
 * Production: deploys a `CumulativeMerkleDistributor` paying an existing `token`. Fund it
 * by transferring tokens to the returned address before posting a root that needs them.
 */
export async function deployDistributor(
  options: DeployDistributorOptions,
): Promise<SettlementDeployment> {
  const owner = options.owner ?? options.deployer.address
  const rootPoster = options.rootPoster ?? options.deployer.address
  const distributor = await deploy(
    options,
    'CumulativeMerkleDistributor',
    cumulativeMerkleDistributorAbi,
    cumulativeMerkleDistributorBytecode,
    [options.token, owner, rootPoster],
  )
  return { token: options.token, distributor }
}

/**
 * A development chain: deploys the `CreditToken` (owned by the root poster, who mints what
 * each root adds: see `ensureFunded`) and a distributor paying it.
 */
export async function deploySettlement(
  options: DeploySettlementOptions,
): Promise<SettlementDeployment> {
  const rootPoster = options.rootPoster ?? options.deployer.address
  const token = await deploy(options, 'CreditToken', creditTokenAbi, creditTokenBytecode, [
    rootPoster,
    options.decimals ?? CREDIT_TOKEN_DECIMALS,
  ])
  return deployDistributor({ ...options, rootPoster, token })
}

async function deploy(
  options: Omit<DeployDistributorOptions, 'token'>,
  name: string,
  abi: Abi,
  bytecode: Hex,
  args: readonly unknown[],
): Promise<Address> {
  const timeoutMs = options.timeoutMs ?? CHAIN_TIMEOUT_MS
  return withDeadline(`Deploying ${name}`, options.signal, timeoutMs, async (signal) => {
    const { publicClient, walletClient } = rpcClients(options.rpcUrl, signal, options.deployer)
    const hash = await walletClient.deployContract({ abi, bytecode, args, chain: null })
    const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: timeoutMs })
    if (receipt.status !== 'success' || receipt.contractAddress == null)
      throw new SettlementError(
        'TRANSACTION_FAILED',
        `Deploying ${name} reverted (transaction ${hash}): check the constructor arguments ${JSON.stringify(args.map(String))}.`,
      )
    return getAddress(receipt.contractAddress)
  })
}
