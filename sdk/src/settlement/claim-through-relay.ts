import type { Hex, PublicClient } from 'viem'
import { type ClaimResult, confirmClaim } from './claim-on-chain.ts'
import type { Settlement, SettlementApi, WalletCredits } from './settlement-api.ts'
import { waitForClaimed } from './wait-for-claimed.ts'

export interface ClaimThroughRelayOptions {
  client: Pick<SettlementApi, 'requestClaim' | 'walletCredits'>
  settlement: Settlement
  /** The wallet's figures before the claim: the relay's answer waited on rises above them. */
  credits: WalletCredits
  /** Reads the receipt exactly when there is an RPC URL; without one the relay's figures are watched. */
  publicClient?: PublicClient | undefined
  /** Told the transaction's hash as soon as the relay sent it. */
  onSent?: ((txHash: Hex) => void) | undefined
  signal?: AbortSignal | undefined
  timeoutMs?: number | undefined
}

/**
 * Asks the relay to submit a wallet's claim (it pays the gas: right for a key that holds no
 * ETH, as a tab's own key does) and waits until it is mined: from the receipt when there is
 * a chain to read, else from the relay's figures. The tokens go to the wallet whoever sends
 * the claim. The page and `tabswarm claim` both claim this way.
 *
 * @example
 * const result = await claimThroughRelay({ client, settlement, credits, publicClient, signal })
 * console.log(`paid ${result.paid} in ${result.txHash}`)
 */
export async function claimThroughRelay(
  options: ClaimThroughRelayOptions,
): Promise<ClaimResult | Omit<ClaimResult, 'blockNumber' | 'gasUsed'>> {
  const { client, settlement, credits, publicClient, signal, timeoutMs } = options
  const { txHash } = await client.requestClaim([credits.address], { signal })
  options.onSent?.(txHash)
  return publicClient != null
    ? confirmClaim({
        publicClient,
        txHash,
        distributor: settlement.distributor,
        account: credits.address,
        signal,
        timeoutMs,
      })
    : waitForClaimed(client, credits, txHash, { signal, timeoutMs })
}
