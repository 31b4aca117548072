import type { SqliteMigration } from '../sqlite-migrations.ts'

/**
 * Running totals for the relay's public figures (`GET /v1/stats`), so answering them never
 * scans a table that grows with every result:
 *
 * - `compute_hours`: GFLOP and tasks of accepted work per UTC hour (`hour` is the hour's
 *   start, ms since the epoch), added in the transaction that accepts a task and taken back
 *   in the one that undoes it. It starts empty: work accepted before this migration was
 *   never measured in flops, and a guess would be published as a fact.
 * - `transfer_totals`: the sum of every ledger transfer per kind, for the kinds that move
 *   once per job or less (`TOTALED_KINDS` of `sqlite-store.ts`), kept by `transfer()` in the
 *   transaction of the transfer; backfilled here from `transfers`, so "credits paid, ever"
 *   is exact from the first start.
 *
 * Compute per hour is summed in memory per group commit and written just before it (see
 * `addCompute`), so the hot path pays one upsert per hour per group, not one per task.
 */
export const networkFigures: SqliteMigration = {
  version: 3,
  name: 'running totals of compute and credits for the public figures',
  up(db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS compute_hours (
        hour INTEGER PRIMARY KEY,
        gflop REAL NOT NULL,
        tasks INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS transfer_totals (
        kind TEXT PRIMARY KEY,
        total INTEGER NOT NULL
      ) WITHOUT ROWID;
      DELETE FROM transfer_totals;
      INSERT INTO transfer_totals (kind, total)
        SELECT kind, SUM(amount) FROM transfers
        WHERE kind IN ('grant', 'escrow', 'payout', 'site-share', 'refund') GROUP BY kind;
    `)
  },
}
