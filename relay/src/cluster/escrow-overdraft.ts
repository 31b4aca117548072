import type pg from 'pg'
import type { JournalEntry } from '../store/store-journal.ts'

/** The start of the error a batch is refused with when an escrow overdrew its researcher. */
export const ESCROW_REFUSED = 'INSUFFICIENT_CREDITS'

/**
 * Researchers whose balance an escrow of these entries took below zero, as the database
 * has it after applying them (inside the same transaction): each coordinator checked the
 * balance it read before the submit, but two relays may have taken the same credits at
 * once. Described as `<account> has <balance> credits after <n> escrowed`.
 */
export async function escrowOverdrafts(
  client: pg.ClientBase,
  entries: readonly JournalEntry[],
): Promise<string[]> {
  const escrowed = new Map<string, bigint>()
  for (const entry of entries) {
    if (entry.op !== 'transfer' || entry.args[0].kind !== 'escrow') continue
    const { from, amount } = entry.args[0]
    escrowed.set(from, (escrowed.get(from) ?? 0n) + amount)
  }
  if (escrowed.size === 0) return []
  const { rows } = await client.query<{ account: string; balance: string }>(
    'SELECT account, balance::text AS balance FROM balances WHERE account = ANY($1) AND balance < 0',
    [[...escrowed.keys()]],
  )
  return rows.map(
    (row) =>
      `${row.account} has ${row.balance} credits after ${escrowed.get(row.account)} escrowed`,
  )
}
