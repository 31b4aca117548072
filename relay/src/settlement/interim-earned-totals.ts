import type { CoordinatorStore } from '../store/coordinator-store.ts'

/**
 * Cumulative payouts per wallet, read from the store until the ledger's own
 * `earnedTotals()` (bigint, site shares included) replaces it in `server.ts`. It sees wallets
 * that hold a balance now: one that spent every credit it earned is missed, which the
 * ledger's version does not do.
 */
export function interimEarnedTotals(
  store: CoordinatorStore,
): () => Array<{ account: string; total: bigint }> {
  return () =>
    store.balancesWithPrefix('0x').map(({ account }) => ({
      account,
      total: BigInt(store.creditedTotal(account, 'payout')),
    }))
}
