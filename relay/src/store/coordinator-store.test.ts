import { afterAll, beforeAll, describe } from 'vitest'
import { asyncCoreStore, coordinatorStoreContract } from './coordinator-store.contract.ts'
import { coreTables } from './postgres/migrations/core-tables.ts'
import { applyPostgresMigrations } from './postgres/postgres-migrations.ts'
import { createPostgresPool } from './postgres/postgres-pool.ts'
import { createPostgresStore } from './postgres/postgres-store.ts'
import { type PostgresServer, startPostgresServer } from './postgres/testing/postgres-server.ts'
import { createSqliteStore } from './sqlite-store.ts'

coordinatorStoreContract('SQLite', async () =>
  asyncCoreStore(createSqliteStore({ path: ':memory:' })),
)

describe('on a real PostgreSQL server', () => {
  let server: PostgresServer
  beforeAll(async () => {
    server = await startPostgresServer()
  }, 90_000)
  afterAll(async () => {
    await server?.stop()
  })

  // A fresh database per test: the contract's tests expect an empty store.
  coordinatorStoreContract('PostgreSQL', async () => {
    const pool = createPostgresPool(await server.createDatabase(), { max: 2 })
    await applyPostgresMigrations(pool, [coreTables])
    return createPostgresStore(pool)
  })
})
