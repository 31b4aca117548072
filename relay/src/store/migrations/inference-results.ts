import type { SqliteMigration } from '../sqlite-migrations.ts'

/** The columns this migration adds, with their SQL. */
const COLUMNS: ReadonlyArray<{ table: 'jobs' | 'results'; column: string; sql: string }> = [
  { table: 'results', column: 'signature', sql: 'ALTER TABLE results ADD COLUMN signature TEXT' },
  {
    table: 'jobs',
    column: 'closed_tasks',
    sql: 'ALTER TABLE jobs ADD COLUMN closed_tasks INTEGER NOT NULL DEFAULT 0',
  },
]

/**
 * Inference jobs: a result's `signature` (the contributor's libp2p key's signature of its
 * task and payload hash, so a bad stage stays attributable after the fact), and a job's
 * `closed_tasks` (tasks of a pipeline whose sequence ended early: never run, never paid,
 * counted so the job completes and its view adds up).
 *
 * A database created by this relay has the columns from `SQLITE_SCHEMA` already, so each is
 * added only when missing.
 */
export const inferenceResults: SqliteMigration = {
  version: 5,
  name: 'inference results',
  up(db) {
    for (const table of ['jobs', 'results'] as const) {
      const present = new Set(
        (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map(
          (c) => c.name,
        ),
      )
      for (const added of COLUMNS)
        if (added.table === table && !present.has(added.column)) db.exec(added.sql)
    }
  },
}
