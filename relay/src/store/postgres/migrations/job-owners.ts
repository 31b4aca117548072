import type { PostgresMigration } from '../postgres-migrations.ts'

/**
 * Version 3: who runs which job when several coordinators share the database
 * (`relay/src/cluster/postgres-job-ownership.ts`).
 *
 * - `job_owners`: one row per running job: its owner, its fencing token (raised by every
 *   takeover, so a stale owner's writes can be told apart) and when its lease lapses, in
 *   milliseconds of the database's clock: every coordinator reads and writes expiry with
 *   the server's `now()`, so their own clocks may disagree without harm. A row whose
 *   `owner` is empty was handed back: nobody owns it, and anyone may take it.
 * - `coordinators`: each coordinator start and when it last renewed, for operators
 *   (`SELECT * FROM coordinators ORDER BY seen_at DESC`). Nothing decides by it.
 */
export const jobOwnersMigration: PostgresMigration = {
  version: 3,
  name: 'job_owners',
  async up(client) {
    await client.query(
      `CREATE TABLE job_owners (
         job_id TEXT PRIMARY KEY,
         owner TEXT NOT NULL,
         token BIGINT NOT NULL CHECK (token > 0),
         expires_at BIGINT NOT NULL
       )`,
    )
    // Takeovers look for lapsed leases, oldest first.
    await client.query('CREATE INDEX job_owners_expires_at ON job_owners (expires_at)')
    // Renewal and release find a coordinator's rows.
    await client.query('CREATE INDEX job_owners_owner ON job_owners (owner)')
    await client.query(
      `CREATE TABLE coordinators (
         id TEXT PRIMARY KEY,
         started_at BIGINT NOT NULL,
         seen_at BIGINT NOT NULL
       )`,
    )
  },
}
