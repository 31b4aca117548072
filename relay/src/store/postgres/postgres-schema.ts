import { auxiliaryTables } from './migrations/auxiliary-tables.ts'
import { clusterJournal } from './migrations/cluster-journal.ts'
import { coreTables } from './migrations/core-tables.ts'
import { jobOwnersMigration } from './migrations/job-owners.ts'
import { relaysMigration } from './migrations/relays.ts'
import { taskOffersMigration } from './migrations/task-offers.ts'
import type { PostgresMigration } from './postgres-migrations.ts'

/**
 * Every numbered migration of the shared database, in order: each coordinator applies the
 * ones the database has not had yet at start (`applyPostgresMigrations`). A new one goes at
 * the end with the next number.
 */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  coreTables,
  auxiliaryTables,
  jobOwnersMigration,
  relaysMigration,
  clusterJournal,
  taskOffersMigration,
]
