import type pg from 'pg'
import { type Logger, silentLogger } from '../log.ts'
import { applyAuxiliaryEntry } from '../store/postgres/postgres-auxiliary-store.ts'
import { applyPostgresMigrations } from '../store/postgres/postgres-migrations.ts'
import { createPostgresPool, redactDatabaseUrl } from '../store/postgres/postgres-pool.ts'
import { POSTGRES_MIGRATIONS } from '../store/postgres/postgres-schema.ts'
import { createPostgresStore, type PostgresStore } from '../store/postgres/postgres-store.ts'
import { createSqliteStore, type SqliteStore } from '../store/sqlite-store.ts'
import { createPostgresJobOwnership, type PostgresJobOwnership } from './postgres-job-ownership.ts'
import { createPostgresJournalSink } from './postgres-journal-sink.ts'
import { createWriteBehindStore, type WriteBehindStore } from './write-behind-store.ts'

export interface ClusterStoreOptions {
  url: string
  log?: Logger
  /** A job's lease lapses this long after its owner's last renewal. @default 5_000 */
  leaseMs?: number
  /** @default 1_000 */
  renewMs?: number
  /** Connections to the database. @default 8 */
  poolSize?: number
  /** Bounds opening the database and migrating it. @default 30_000 */
  timeoutMs?: number
}

/**
 * The state of a coordinator that shares a PostgreSQL with others: the pool, the schema
 * (migrated at start), the shared store's reads, job ownership, and the coordinator's own
 * store: an in-memory SQLite working set that writes behind to PostgreSQL, fenced by
 * ownership. Jobs whose writes the database refused are reported through `onLost`, which
 * `startClusterNode` sets to drop them from its coordinator.
 */
export interface ClusterStore {
  readonly pool: pg.Pool
  readonly url: string
  readonly shared: PostgresStore
  readonly ownership: PostgresJobOwnership
  readonly working: WriteBehindStore
  readonly memory: SqliteStore
  onLost(handler: (jobIds: readonly string[]) => void): void
  close(): Promise<void>
}

export async function openClusterStore(options: ClusterStoreOptions): Promise<ClusterStore> {
  const log = options.log ?? silentLogger
  const pool = createPostgresPool(options.url, {
    max: options.poolSize ?? 8,
    applicationName: 'tabswarm-relay',
  })
  const signal = AbortSignal.timeout(options.timeoutMs ?? 30_000)
  try {
    const version = await applyPostgresMigrations(pool, POSTGRES_MIGRATIONS, signal)
    log.info('database ready', { database: redactDatabaseUrl(options.url), schema: version })
  } catch (err) {
    await pool.end().catch(() => {})
    throw new Error(
      `cannot use the database ${redactDatabaseUrl(options.url)}: ${(err as Error).message}. Check that PostgreSQL runs there and the URL's user may create tables`,
      { cause: err },
    )
  }
  const shared = createPostgresStore(pool, { auxiliary: applyAuxiliaryEntry })
  const ownership = createPostgresJobOwnership({
    pool,
    ...(options.leaseMs != null ? { leaseMs: options.leaseMs } : {}),
    ...(options.renewMs != null ? { renewMs: options.renewMs } : {}),
  })
  const memory = createSqliteStore({ path: ':memory:' })
  let lost: (jobIds: readonly string[]) => void = () => {}
  const working = createWriteBehindStore({
    memory,
    log,
    fenceTokens: () => ownership.owned(),
    sink: createPostgresJournalSink({
      pool,
      coordinatorId: ownership.coordinatorId,
      ownership,
      applyJournal: (client, entries) => shared.applyJournal(client, entries),
      log,
    }),
    onLost(jobIds, reason) {
      ownership.forget(jobIds)
      log.warn('the database refused changes to jobs: they are dropped here', {
        jobs: jobIds.join(','),
        reason: reason.message,
      })
      lost(jobIds)
    },
  })
  return {
    pool,
    url: options.url,
    shared,
    ownership,
    working,
    memory,
    onLost(handler) {
      lost = handler
    },
    async close() {
      working.close()
      await pool.end().catch(() => {})
    },
  }
}
