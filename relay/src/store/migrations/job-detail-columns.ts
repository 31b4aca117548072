import type { SqliteMigration } from '../sqlite-migrations.ts'

/** The columns this migration adds to `jobs`, with their SQL types. */
const COLUMNS: ReadonlyArray<{ column: string; sql: string }> = [
  { column: 'first_lease_at', sql: 'ALTER TABLE jobs ADD COLUMN first_lease_at INTEGER' },
  {
    column: 'canaries_accepted',
    sql: 'ALTER TABLE jobs ADD COLUMN canaries_accepted INTEGER NOT NULL DEFAULT 0',
  },
]

/**
 * What a job's detail (`GET /v1/jobs/:id/detail`) shows beyond its results rows, kept with
 * the job so that it survives a restart: when its first task was leased, and how many of
 * its canaries were answered right (canaries are re-runs of accepted tasks, not results, so
 * the results table does not count them). Jobs from before it have neither: no first-lease
 * time (the detail leaves it out) and no canaries counted, which is what they show.
 *
 * A database created by this relay has the columns from `SQLITE_SCHEMA` already, so each is
 * added only when missing.
 */
export const jobDetailColumns: SqliteMigration = {
  version: 2,
  name: 'jobs: first lease time and canaries accepted',
  up(db) {
    const present = new Set(
      (db.prepare('PRAGMA table_info(jobs)').all() as Array<{ name: string }>).map((c) => c.name),
    )
    for (const { column, sql } of COLUMNS) if (!present.has(column)) db.exec(sql)
  },
}
