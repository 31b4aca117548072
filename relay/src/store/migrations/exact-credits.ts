import type { SqliteMigration } from '../sqlite-migrations.ts'

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** Every column holding credits, with the column that names its row in an error. */
const AMOUNT_COLUMNS: ReadonlyArray<{ table: string; key: string; column: string }> = [
  { table: 'transfers', key: 'id', column: 'amount' },
  { table: 'balances', key: 'account', column: 'balance' },
  { table: 'jobs', key: 'id', column: 'task_credits' },
  { table: 'jobs', key: 'id', column: 'budget' },
  { table: 'jobs', key: 'id', column: 'spent' },
  { table: 'jobs', key: 'id', column: 'refunded' },
]

/**
 * Credits become exact integers (`bigint`) in the relay. Relays before it wrote them from
 * JavaScript numbers: every value should be an SQLite INTEGER already, but a REAL can hide
 * there (a sum past 2^63 turns into one silently, and a column without INTEGER affinity
 * keeps `5.0` as written). This checks every amount column: an integral REAL within the
 * signed 64-bit range becomes that INTEGER; anything else (a fraction, text, a value out of
 * range) refuses, naming the row, since no exact amount can be made of it. Then `balances`
 * is recomputed from `transfers` (the record of every move), and the ledger must sum to
 * zero.
 */
export const exactCredits: SqliteMigration = {
  version: 1,
  name: 'credits as exact 64-bit integers',
  up(db) {
    for (const { table, key, column } of AMOUNT_COLUMNS) {
      const odd = db
        .prepare(
          `SELECT ${key} AS key, ${column} AS value, typeof(${column}) AS type FROM ${table} WHERE typeof(${column}) != 'integer'`,
        )
        .all() as Array<{ key: unknown; value: unknown; type: string }>
      const fix = db.prepare(`UPDATE ${table} SET ${column} = ? WHERE ${key} = ?`)
      for (const row of odd) {
        const value = row.value
        const integral =
          row.type === 'real' &&
          typeof value === 'number' &&
          Number.isInteger(value) &&
          BigInt(value) >= INT64_MIN &&
          BigInt(value) <= INT64_MAX
        if (!integral)
          throw new Error(
            `${table} row ${key} = ${JSON.stringify(row.key)} has ${column} ${String(value)} (${row.type}), not a whole number of credits within ±2^63: correct or remove that row by hand, then start the relay again`,
          )
        fix.run(BigInt(value as number), row.key as string | number)
      }
    }

    // Balances are a cache of the transfers: rebuilt from them, so a drifted one is healed.
    // SUM of INTEGERs throws on overflow rather than turning into a REAL.
    db.exec('DELETE FROM balances')
    db.exec(`
      INSERT INTO balances (account, balance)
      SELECT account, SUM(delta) FROM (
        SELECT debit AS account, -amount AS delta FROM transfers
        UNION ALL
        SELECT credit AS account, amount AS delta FROM transfers
      ) GROUP BY account`)
    const balances = db.prepare('SELECT account, balance FROM balances')
    balances.setReadBigInts(true)
    let sum = 0n
    for (const row of balances.iterate() as Iterable<{ balance: bigint }>) sum += row.balance
    if (sum !== 0n)
      throw new Error(
        `the ledger's balances sum to ${sum}, not 0, after recomputing them from transfers: the transfers table is damaged`,
      )
    // Earnings now include site shares; the old index covered payouts only.
    db.exec('DROP INDEX IF EXISTS payouts_by_account')
  },
}
