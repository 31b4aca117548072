import {
  type Account,
  createPublicClient,
  createWalletClient,
  http,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem'

/** How often viem polls for blocks and receipts by default (automine answers at once). */
export const POLLING_INTERVAL_MS = 500

/**
 * viem clients whose every request carries `signal`, so an abort or a deadline (see
 * `withDeadline`) cancels what is in flight instead of leaving it to finish unseen. Cheap:
 * one pair per operation. No `chain` is fixed: viem reads the chain id where it signs.
 */
export function rpcClients(
  rpcUrl: string,
  signal: AbortSignal,
  account: Account,
  pollingInterval = POLLING_INTERVAL_MS,
): { publicClient: PublicClient; walletClient: WalletClient<Transport, undefined, Account> } {
  const transport = http(rpcUrl, { fetchOptions: { signal }, retryCount: 1 })
  return {
    publicClient: createPublicClient({ transport, pollingInterval }),
    walletClient: createWalletClient({ account, transport, pollingInterval }),
  }
}
