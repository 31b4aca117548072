import type { ClaimProof } from '@tabswarm/protocol'
import {
  encodeFunctionData,
  getAddress,
  keccak256,
  parseTransaction,
  TransactionNotFoundError,
  WaitForTransactionReceiptTimeoutError,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { creditTokenAbi } from '../contracts/CreditToken.artifact.ts'
import { cumulativeMerkleDistributorAbi } from '../contracts/CumulativeMerkleDistributor.artifact.ts'
import { SettlementError } from '../settlement-error.ts'
import { CHAIN_TIMEOUT_MS, withDeadline } from './deadline.ts'
import { revertReason } from './revert-reason.ts'
import { POLLING_INTERVAL_MS, rpcClients } from './rpc-clients.ts'
import type {
  Address,
  DistributorState,
  Hex,
  SettlementChain,
  SignedTransaction,
  TransactionOutcome,
} from './settlement-chain.ts'

export interface ViemSettlementChainOptions {
  /** Any EVM JSON-RPC URL (the local chain's, or a production node's). */
  rpcUrl: string
  /** Private key of the root poster; on a development chain also the credit token's owner. */
  posterKey: Hex
  distributor: Address
  token: Address
  /**
   * Development chain only: `ensureFunded` mints the shortfall (the poster owns the
   * `CreditToken`). Off, a shortfall is an error naming the transfer that fixes it.
   */
  devMint: boolean
  /** Refuse an RPC URL that serves another chain. */
  chainId?: number
  /** Per call: a read, or a transaction and its receipt; default {@link CHAIN_TIMEOUT_MS}. */
  timeoutMs?: number
  /** How often to poll for receipts; default {@link POLLING_INTERVAL_MS}. */
  pollingIntervalMs?: number
  /** For reading the chain id while connecting. */
  signal: AbortSignal
}

/**
 * The {@link SettlementChain} over JSON-RPC with viem. The poster's key signs locally, so a
 * root post's hash is known (and stored by the caller) before it is broadcast. Transactions
 * from the poster's key (mints, claims) are made one at a time, so their nonces never race.
 */
export async function createViemSettlementChain(
  options: ViemSettlementChainOptions,
): Promise<SettlementChain> {
  const timeoutMs = options.timeoutMs ?? CHAIN_TIMEOUT_MS
  const pollingInterval = options.pollingIntervalMs ?? POLLING_INTERVAL_MS
  const account = privateKeyToAccount(options.posterKey)
  const distributor = getAddress(options.distributor)
  const token = getAddress(options.token)
  /** Runs `work` with clients bound to a signal that the deadline or the caller aborts. */
  const rpc = <T>(
    what: string,
    signal: AbortSignal,
    work: (clients: ReturnType<typeof rpcClients>) => Promise<T>,
    ms = timeoutMs,
  ) =>
    withDeadline(what, signal, ms, (s) =>
      work(rpcClients(options.rpcUrl, s, account, pollingInterval)),
    )

  const chainId = await rpc('Reading the chain id', options.signal, ({ publicClient }) =>
    publicClient.getChainId(),
  )
  if (options.chainId != null && chainId !== options.chainId)
    throw new SettlementError(
      'WRONG_CHAIN',
      `The RPC URL ${options.rpcUrl} serves chain ${chainId}, but the relay is configured for chain ${options.chainId}. Fix the RPC URL or the chain id.`,
    )

  let queue: Promise<unknown> = Promise.resolve()
  /** One poster transaction at a time: each waits for the one before it to settle. */
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work)
    queue = run.catch(() => {})
    return run
  }

  const readState = (signal: AbortSignal) =>
    rpc('Reading the distributor', signal, async ({ publicClient }) => {
      const blockNumber = await publicClient.getBlockNumber()
      const read = <F extends 'epoch' | 'merkleRoot' | 'cumulativeTotal' | 'totalClaimed'>(
        functionName: F,
      ) =>
        publicClient.readContract({
          address: distributor,
          abi: cumulativeMerkleDistributorAbi,
          functionName,
          blockNumber,
        })
      const [epoch, merkleRoot, cumulativeTotal, totalClaimed, balance] = await Promise.all([
        read('epoch'),
        read('merkleRoot'),
        read('cumulativeTotal'),
        read('totalClaimed'),
        publicClient.readContract({
          address: token,
          abi: creditTokenAbi,
          functionName: 'balanceOf',
          args: [distributor],
          blockNumber,
        }),
      ])
      return { epoch: Number(epoch), merkleRoot, cumulativeTotal, totalClaimed, balance }
    }) satisfies Promise<DistributorState>

  /** Sends a poster transaction, waits for it, and throws if it was refused or reverted. */
  const transact = (
    what: string,
    signal: AbortSignal,
    send: (walletClient: ReturnType<typeof rpcClients>['walletClient']) => Promise<Hex>,
  ): Promise<Hex> =>
    serially(() =>
      rpc(what, signal, async ({ publicClient, walletClient }) => {
        let hash: Hex
        try {
          hash = await send(walletClient)
        } catch (err) {
          if (signal.aborted) throw err
          throw new SettlementError(
            'TRANSACTION_FAILED',
            `${what} was refused: ${revertReason(err)}.`,
            { cause: err },
          )
        }
        const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: timeoutMs })
        if (receipt.status !== 'success')
          throw new SettlementError(
            'TRANSACTION_FAILED',
            `${what} reverted in block ${receipt.blockNumber} (transaction ${hash}).`,
          )
        return hash
      }),
    )

  return {
    chainId,
    distributor,
    token,
    poster: account.address,

    tokenInfo: (signal) =>
      rpc('Reading the token', signal, async ({ publicClient }) => {
        const read = <F extends 'symbol' | 'decimals'>(functionName: F) =>
          publicClient.readContract({ address: token, abi: creditTokenAbi, functionName })
        const [symbol, decimals] = await Promise.all([read('symbol'), read('decimals')])
        return { symbol, decimals }
      }),

    state: readState,

    claimed: (account, signal) =>
      rpc(`Reading what ${account} claimed`, signal, ({ publicClient }) =>
        publicClient.readContract({
          address: distributor,
          abi: cumulativeMerkleDistributorAbi,
          functionName: 'claimed',
          args: [getAddress(account)],
        }),
      ),

    async ensureFunded(cumulativeTotal, signal) {
      const { balance, totalClaimed } = await readState(signal)
      const shortfall = cumulativeTotal - (balance + totalClaimed)
      if (shortfall <= 0n) return
      if (!options.devMint)
        throw new SettlementError(
          'UNDERFUNDED',
          `The distributor ${distributor} holds ${balance} base units of token ${token} and has paid ${totalClaimed}, ${shortfall} short of the ${cumulativeTotal} the next root pays in total. Transfer ${shortfall} base units of ${token} to ${distributor}, then close the epoch again.`,
        )
      await transact(`Minting ${shortfall} base units to the distributor`, signal, (wallet) =>
        wallet.writeContract({
          address: token,
          abi: creditTokenAbi,
          functionName: 'mint',
          args: [distributor, shortfall],
          chain: null,
        }),
      )
    },

    signPostRoot: (epoch, root, cumulativeTotal, signal) =>
      serially(() =>
        rpc(`Signing the root of epoch ${epoch}`, signal, async ({ publicClient }) => {
          const call = {
            address: distributor,
            abi: cumulativeMerkleDistributorAbi,
            functionName: 'postRoot',
            args: [BigInt(epoch), root, cumulativeTotal],
          } as const
          const [nonce, gas, fees] = await Promise.all([
            publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' }),
            publicClient.estimateContractGas({ ...call, account }).catch((err: unknown) => {
              if (signal.aborted) throw err
              throw new SettlementError(
                'TRANSACTION_FAILED',
                `Posting the root of epoch ${epoch} would revert: ${revertReason(err)}.`,
                { cause: err },
              )
            }),
            publicClient.estimateFeesPerGas(),
          ])
          const raw = await account.signTransaction({
            type: 'eip1559',
            chainId,
            to: distributor,
            data: encodeFunctionData(call),
            nonce,
            // postRoot's cost does not depend on chain state beyond the slots it writes:
            // a fixed margin covers a zero-to-nonzero write the estimate did not see.
            gas: gas + 25_000n,
            maxFeePerGas: fees.maxFeePerGas,
            maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
          })
          return { hash: keccak256(raw), raw } satisfies SignedTransaction
        }),
      ),

    send: (tx, signal) =>
      rpc(`Sending transaction ${tx.hash}`, signal, async ({ publicClient }) => {
        try {
          await publicClient.sendRawTransaction({ serializedTransaction: tx.raw })
          return
        } catch (err) {
          // "already known", "nonce too low" after it was mined, a node that answered an
          // error after accepting it: whatever was said, the chain having it is success.
          const known = await publicClient.getTransaction({ hash: tx.hash }).catch((e: unknown) => {
            if (e instanceof TransactionNotFoundError) return null
            throw e
          })
          if (known != null) return
          const { nonce } = parseTransaction(tx.raw)
          const used = await publicClient.getTransactionCount({ address: account.address })
          if (nonce != null && used > nonce)
            throw new SettlementError(
              'NONCE_TAKEN',
              `Transaction ${tx.hash} can never be mined: another transaction of the poster ${account.address} took its nonce ${nonce}. Sign it again.`,
              { cause: err },
            )
          throw new SettlementError(
            'TRANSACTION_FAILED',
            `The chain refused transaction ${tx.hash}: ${revertReason(err)}.`,
            { cause: err },
          )
        }
      }),

    outcome: (hash, signal, waitMs) =>
      rpc(
        `Waiting for transaction ${hash}`,
        signal,
        async ({ publicClient }): Promise<TransactionOutcome> => {
          try {
            const receipt = await publicClient.waitForTransactionReceipt({
              hash,
              timeout: waitMs,
            })
            return receipt.status === 'success' ? 'mined' : 'reverted'
          } catch (err) {
            if (err instanceof WaitForTransactionReceiptTimeoutError) return 'unknown'
            throw err
          }
        },
        // The caller's wait plus room for the last request.
        waitMs + timeoutMs,
      ),

    async submitClaims(claims, signal) {
      const root = claims[0]?.root as Hex | undefined
      if (root == null) throw new RangeError('submitClaims needs at least one claim')
      if (claims.some((c) => c.root !== root))
        throw new RangeError('submitClaims takes claims against one root (claimMany checks one)')
      const args = claims.map(claimArgs)
      const one = args.length === 1 ? args[0] : undefined
      const what = `Claiming for ${one?.account ?? `${args.length} accounts`}`
      return transact(what, signal, (wallet) =>
        one != null
          ? wallet.writeContract({
              address: distributor,
              abi: cumulativeMerkleDistributorAbi,
              functionName: 'claim',
              args: [one.account, one.cumulativeAmount, root, one.proof],
              chain: null,
            })
          : wallet.writeContract({
              address: distributor,
              abi: cumulativeMerkleDistributorAbi,
              functionName: 'claimMany',
              args: [args, root],
              chain: null,
            }),
      )
    },
  }
}

function claimArgs(c: ClaimProof) {
  return {
    account: getAddress(c.account),
    cumulativeAmount: BigInt(c.cumulativeAmount),
    proof: c.proof as Hex[],
  }
}
