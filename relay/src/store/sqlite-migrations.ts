import type { DatabaseSync } from 'node:sqlite'
import { exactCredits } from './migrations/exact-credits.ts'
import { inferenceResults } from './migrations/inference-results.ts'
import { jobDetailColumns } from './migrations/job-detail-columns.ts'
import { networkFigures } from './migrations/network-figures.ts'
import { walletSessions } from './migrations/wallet-sessions.ts'

/**
 * A change to the data of an existing database, numbered: SQLite's `user_version` holds the
 * number of the last one applied, so each runs exactly once, in order, in its own
 * transaction (a failed one leaves the file as it was and the relay refuses to start).
 */
export interface SqliteMigration {
  /** 1, 2, …: the `user_version` the database has once this has run. */
  version: number
  /** What it does, for the error when it fails. */
  name: string
  up(db: DatabaseSync): void
}

/** Every numbered migration, in order. A new one goes at the end with the next number. */
export const SQLITE_VERSIONED_MIGRATIONS: readonly SqliteMigration[] = [
  exactCredits,
  jobDetailColumns,
  networkFigures,
  walletSessions,
  inferenceResults,
]

/**
 * Applies the numbered migrations the database has not had yet (a new, empty database runs
 * them all, cheaply). Throws, naming the migration, when one refuses the data it finds; the
 * database is then left at the version before it.
 */
export function applyVersionedMigrations(
  db: DatabaseSync,
  migrations: readonly SqliteMigration[] = SQLITE_VERSIONED_MIGRATIONS,
): void {
  const current = Number(
    (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version,
  )
  const newest = migrations.at(-1)?.version ?? 0
  if (current > newest)
    throw new Error(
      `the database is at schema version ${current}, newer than this relay knows (${newest}): run the relay version that wrote it, or a newer one`,
    )
  for (const migration of migrations) {
    if (migration.version <= current) continue
    db.exec('BEGIN IMMEDIATE')
    try {
      migration.up(db)
      // PRAGMA takes no bound parameters; the version is one of ours, a number.
      db.exec(`PRAGMA user_version = ${migration.version}`)
      db.exec('COMMIT')
    } catch (err) {
      db.exec('ROLLBACK')
      throw new Error(
        `migration ${migration.version} (${migration.name}) failed, the database is unchanged: ${(err as Error).message}`,
        { cause: err },
      )
    }
  }
}
