import type pg from 'pg'
import { withTransaction } from './postgres-pool.ts'

/**
 * A numbered change to the shared database's schema. `schema_migrations` records each one
 * applied; every coordinator runs the missing ones at start, one at a time under an
 * advisory lock, so three coordinators starting together apply each exactly once.
 */
export interface PostgresMigration {
  /** 1, 2, …: applied in order, each once. */
  version: number
  /** What it does, for the error when it fails. */
  name: string
  up(client: pg.ClientBase): Promise<void>
}

/** `pg_advisory_xact_lock` key of schema changes: 'tabs' 'warm' as two int32. */
const MIGRATION_LOCK = [0x74616273, 0x7761726d] as const

/**
 * Applies the migrations the database has not had yet, each in its own transaction. Throws,
 * naming the migration, when one fails (the database is left at the version before it), or
 * when the database is newer than `migrations` knows.
 */
export async function applyPostgresMigrations(
  pool: pg.Pool,
  migrations: readonly PostgresMigration[],
  signal?: AbortSignal,
): Promise<number> {
  const newest = migrations.at(-1)?.version ?? 0
  let version = 0
  for (let step = 0; ; step++) {
    const next = await withTransaction(
      pool,
      async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...MIGRATION_LOCK])
        await client.query(
          `CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
           )`,
        )
        const { rows } = await client.query<{ v: number | null }>(
          'SELECT max(version) AS v FROM schema_migrations',
        )
        const current = rows[0]?.v ?? 0
        if (current > newest)
          throw new Error(
            `the database is at schema version ${current}, newer than this relay knows (${newest}): run the relay version that wrote it, or a newer one`,
          )
        const migration = migrations.find((m) => m.version > current)
        if (migration == null) return { current, done: true }
        try {
          await migration.up(client)
        } catch (err) {
          throw new Error(
            `migration ${migration.version} (${migration.name}) failed, the database is unchanged: ${(err as Error).message}`,
            { cause: err },
          )
        }
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ])
        return { current: migration.version, done: false }
      },
      signal != null ? { signal } : {},
    )
    version = next.current
    if (next.done || step > migrations.length) return version
  }
}
