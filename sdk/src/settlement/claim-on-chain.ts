import { distributorAbi } from '@tabswarm/protocol'
import {
  BaseError,
  ContractFunctionRevertedError,
  type Hex,
  type PublicClient,
  parseEventLogs,
  type TransactionReceipt,
  type WalletClient,
} from 'viem'
import { untilAborted } from '../client/until-aborted.ts'
import { CLAIM_TIMEOUT_MS } from '../constants.ts'
import type { WalletCredits } from './settlement-api.ts'
import {
  ClaimRevertedError,
  ClaimTimeoutError,
  NothingToClaimError,
  WrongChainError,
} from './settlement-errors.ts'

/** What a claim waits for, in order, for a caller that says so to its user. */
export type ClaimStage = 'checking' | 'signing' | 'confirming'

export interface ClaimOnChainOptions {
  /** Sends the transaction and pays its gas: a local account, or an injected (EIP-1193) wallet. */
  walletClient: WalletClient
  /** Reads the chain: simulates the claim first and waits for the receipt. */
  publicClient: PublicClient
  /** The wallet's figures and claim, from `client.walletCredits(address)`. */
  credits: WalletCredits
  /** The distributor's address, from `client.settlement()`. */
  distributor: Hex
  signal?: AbortSignal | undefined
  /** The whole claim, the wallet's signature included. @default CLAIM_TIMEOUT_MS (2 minutes) */
  timeoutMs?: number | undefined
  /** Called as each stage starts, so a page or the CLI can say what it waits for. */
  onStage?: ((stage: ClaimStage, detail: { txHash?: Hex }) => void) | undefined
}

export interface ClaimResult {
  txHash: Hex
  blockNumber: bigint
  gasUsed: bigint
  /** Token base units this transaction paid the account (0 for a replay). */
  paid: bigint
  /** The account's claimed total on chain after the transaction. */
  claimed: bigint
}

/** What to do about each error `claim` can revert with. */
const FIXES: Record<string, string> = {
  StaleRoot:
    'a newer root was posted since the credits were read: read the wallet’s credits again and claim with the new proof',
  InvalidProof:
    'the proof does not match the posted root: the relay served a wrong proof; read the credits again, and report it if it persists',
  EnforcedPause: 'the distributor is paused by its owner: try again once it is unpaused',
  SafeERC20FailedOperation:
    'the token transfer failed: the distributor holds too few tokens; tell the operator',
}

/** A revert, decoded to the contract's error name and its fix when viem could decode it. */
function revertError(err: unknown): ClaimRevertedError | undefined {
  if (!(err instanceof BaseError)) return undefined
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError)
  if (!(reverted instanceof ContractFunctionRevertedError)) return undefined
  const name = reverted.data?.errorName
  const fix = name ? FIXES[name] : undefined
  return new ClaimRevertedError(
    `the distributor refused the claim${name ? ` (${name})` : ''}: ${fix ?? reverted.shortMessage}`,
    name,
    err,
  )
}

/**
 * Claims a wallet's tokens itself: checks the claim against the chain (a revert is named
 * before anything is signed), has `walletClient` sign and send `claim(account,
 * cumulativeAmount, root, proof)` (it pays the gas; anyone may claim for any account, the
 * tokens go to the account), and waits for the receipt. Shared by the contributor page (an
 * injected wallet) and `tabswarm claim --wallet-key-file`.
 *
 * @example
 * const credits = await client.walletCredits(address)
 * const { txHash, paid } = await claimOnChain({ walletClient, publicClient, credits, distributor })
 */
export async function claimOnChain(options: ClaimOnChainOptions): Promise<ClaimResult> {
  const { walletClient, publicClient, credits, distributor } = options
  const timeoutMs = options.timeoutMs ?? CLAIM_TIMEOUT_MS
  const deadline = AbortSignal.timeout(timeoutMs)
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline
  const claim = credits.claim
  if (claim == null)
    throw new NothingToClaimError(
      `${credits.address} is in no posted root yet: its ${credits.pending} pending base units become claimable when the next epoch closes`,
    )
  if (credits.claimable === 0n)
    throw new NothingToClaimError(
      `${credits.address} has claimed everything in epoch ${claim.epoch}; more becomes claimable when the next epoch closes`,
    )
  const account = walletClient.account
  if (account == null)
    throw new TypeError(
      'claimOnChain needs a wallet client with an account: createWalletClient({ account, chain, transport })',
    )

  const wait = async <T>(work: Promise<T>, what: string): Promise<T> => {
    try {
      return await untilAborted(work, signal)
    } catch (err) {
      if (deadline.aborted && !options.signal?.aborted)
        throw new ClaimTimeoutError(
          `no ${what} within ${timeoutMs} ms; the claim may still land: read the credits again before retrying`,
          err,
        )
      throw err
    }
  }

  options.onStage?.('checking', {})
  const [walletChain, chain] = await wait(
    Promise.all([walletClient.getChainId(), publicClient.getChainId()]),
    'answer from the chain',
  )
  if (walletChain !== chain) throw new WrongChainError(chain, walletChain)

  const args = [claim.account, claim.cumulativeAmount, claim.root, claim.proof] as const
  let request: Parameters<WalletClient['writeContract']>[0]
  try {
    ;({ request } = await wait(
      publicClient.simulateContract({
        address: distributor,
        abi: distributorAbi,
        functionName: 'claim',
        args,
        account,
      }),
      'answer from the chain',
    ))
  } catch (err) {
    throw revertError(err) ?? err
  }

  options.onStage?.('signing', {})
  const txHash = await wait(
    walletClient.writeContract({ ...request, chain: walletClient.chain ?? null }),
    'signature from the wallet',
  )
  options.onStage?.('confirming', { txHash })
  return confirmClaim({
    publicClient,
    txHash,
    distributor,
    account: claim.account,
    signal,
    timeoutMs,
  }).catch((err) => {
    if (deadline.aborted && !options.signal?.aborted)
      throw new ClaimTimeoutError(
        `no receipt for ${txHash} within ${timeoutMs} ms; the claim may still land: read the credits again before retrying`,
        err,
      )
    throw err
  })
}

export interface ConfirmClaimOptions {
  publicClient: PublicClient
  /** The claim's transaction: sent by a wallet, or by the relay (`client.requestClaim`). */
  txHash: Hex
  distributor: Hex
  /** The account whose payment to report. */
  account: Hex
  signal?: AbortSignal | undefined
  /** @default CLAIM_TIMEOUT_MS (2 minutes) */
  timeoutMs?: number | undefined
}

/**
 * Waits for a claim transaction's receipt and reads what it paid `account` (its `Claimed`
 * event) and the account's claimed total after it. `tabswarm claim` and the page use it for
 * the claims the relay submits; `claimOnChain` for its own.
 *
 * @example
 * const { txHash } = await client.requestClaim([address])
 * const { paid, claimed } = await confirmClaim({ publicClient, txHash, distributor, account: address })
 */
export async function confirmClaim(options: ConfirmClaimOptions): Promise<ClaimResult> {
  const { publicClient, txHash, distributor, account } = options
  const timeoutMs = options.timeoutMs ?? CLAIM_TIMEOUT_MS
  const deadline = AbortSignal.timeout(timeoutMs)
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline
  const receipt: TransactionReceipt = await untilAborted(
    publicClient.waitForTransactionReceipt({ hash: txHash, timeout: timeoutMs }),
    signal,
  )
  if (receipt.status !== 'success')
    throw new ClaimRevertedError(
      `claim transaction ${txHash} reverted in block ${receipt.blockNumber}: read the credits again and retry`,
      undefined,
    )
  const event = parseEventLogs({ abi: distributorAbi, logs: receipt.logs, eventName: 'Claimed' })
    .filter((log) => log.address.toLowerCase() === distributor.toLowerCase())
    .find((log) => log.args.account.toLowerCase() === account.toLowerCase())
  const claimed =
    event?.args.cumulativeAmount ??
    (await untilAborted(
      publicClient.readContract({
        address: distributor,
        abi: distributorAbi,
        functionName: 'claimed',
        args: [account],
        blockNumber: receipt.blockNumber,
      }),
      signal,
    ))
  return {
    txHash,
    blockNumber: receipt.blockNumber,
    gasUsed: receipt.gasUsed,
    paid: event?.args.amount ?? 0n,
    claimed,
  }
}
