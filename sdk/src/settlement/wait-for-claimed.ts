import type { Hex } from 'viem'
import { delay } from '../client/delay.ts'
import { CLAIM_TIMEOUT_MS } from '../constants.ts'
import type { ClaimResult } from './claim-on-chain.ts'
import type { SettlementApi, WalletCredits } from './settlement-api.ts'
import { ClaimTimeoutError } from './settlement-errors.ts'

/** How often the relay's figures are read while waiting. */
const POLL_MS = 1_000

/**
 * Waits for a claim the relay sent (`client.requestClaim`) to show in the relay's figures:
 * the wallet's claimed figure rises above `before.claimed`. For callers with no RPC URL to
 * read the receipt from (`confirmClaim` is exact and preferred when there is one).
 */
export async function waitForClaimed(
  client: Pick<SettlementApi, 'walletCredits'>,
  before: WalletCredits,
  txHash: Hex,
  options: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined } = {},
): Promise<Omit<ClaimResult, 'blockNumber' | 'gasUsed'>> {
  const timeoutMs = options.timeoutMs ?? CLAIM_TIMEOUT_MS
  const deadline = AbortSignal.timeout(timeoutMs)
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline
  try {
    for (;;) {
      const now = await client.walletCredits(before.address, { signal })
      if (now.claimed > before.claimed)
        return { txHash, claimed: now.claimed, paid: now.claimed - before.claimed }
      await delay(POLL_MS, signal)
    }
  } catch (err) {
    if (deadline.aborted && !options.signal?.aborted)
      throw new ClaimTimeoutError(
        `the relay sent ${txHash} but ${before.address}'s claimed figure did not rise within ${timeoutMs} ms: look the transaction up on the chain, then read the credits again`,
        err,
      )
    throw err
  }
}
