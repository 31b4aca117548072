import type { JournalEntry } from '../store/store-journal.ts'

/** The start of the error a batch is refused with when an escrow overdrew its researcher. */
export const ESCROW_REFUSED = 'INSUFFICIENT_CREDITS'

/**
 * Researchers whose balance an escrow of these entries took below zero, as the database
 * has it after applying them (`balances`: what the batch's balance writes returned, inside
 * the same transaction, so no further round trip): each coordinator checked the balance
 * it read before the submit, but two relays may have taken the same credits at once.
 * Described as `<account> has <balance> credits after <n> escrowed`.
 */
export function escrowOverdrafts(
  entries: readonly JournalEntry[],
  balances: ReadonlyMap<string, bigint>,
): string[] {
  const escrowed = new Map<string, bigint>()
  for (const entry of entries) {
    if (entry.op !== 'transfer' || entry.args[0].kind !== 'escrow') continue
    const { from, amount } = entry.args[0]
    escrowed.set(from, (escrowed.get(from) ?? 0n) + amount)
  }
  const overdrawn: string[] = []
  for (const [account, amount] of escrowed) {
    const balance = balances.get(account)
    if (balance == null)
      throw new Error(
        `the escrow from ${account} is missing from the balances its batch wrote: the journal's writes and its overdraft check disagree (a bug in applyJournal)`,
      )
    if (balance < 0n) overdrawn.push(`${account} has ${balance} credits after ${amount} escrowed`)
  }
  return overdrawn
}
