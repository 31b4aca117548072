import type { TabswarmClient } from '../client/client.ts'
import { ApiRequestError } from '../client/client-errors.ts'
import { formatAmount } from '../settlement/format-amount.ts'

const WALLET = /^0x[0-9a-fA-F]{40}$/

/**
 * A wallet's three settlement figures for `tabswarm credits`: a line for people (formatted
 * with the token's decimals and symbol, exactly) and a JSON object (decimal strings of base
 * units). Undefined for an account name, or a relay that settles on no chain (404).
 */
export async function settlementFigures(
  client: TabswarmClient,
  address: string,
  signal: AbortSignal,
): Promise<{ line: string; json: Record<string, unknown> } | undefined> {
  if (!WALLET.test(address)) return undefined
  let settlement: Awaited<ReturnType<TabswarmClient['settlement']>>
  let credits: Awaited<ReturnType<TabswarmClient['walletCredits']>>
  try {
    ;[settlement, credits] = await Promise.all([
      client.settlement({ signal }),
      client.walletCredits(address, { signal }),
    ])
  } catch (err) {
    if (err instanceof ApiRequestError && err.status === 404) return undefined
    throw err
  }
  const amount = (units: bigint) => formatAmount(units, settlement.token)
  return {
    line: `  tokens on chain ${settlement.chainId}: pending ${amount(credits.pending)}, claimable ${amount(credits.claimable)}, claimed ${amount(credits.claimed)}`,
    json: {
      chainId: settlement.chainId,
      token: settlement.token,
      pending: credits.pending.toString(),
      claimable: credits.claimable.toString(),
      claimed: credits.claimed.toString(),
      claim: credits.claim && {
        ...credits.claim,
        cumulativeAmount: credits.claim.cumulativeAmount.toString(),
      },
    },
  }
}
