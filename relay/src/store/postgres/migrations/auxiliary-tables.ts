import type { PostgresMigration } from '../postgres-migrations.ts'

/**
 * Migration 2 of the shared database: what a coordinator keeps beside jobs and the ledger.
 *
 * - `used_nonces`: the nonces of accepted wallet-signed requests, until their timestamps can
 *   no longer pass the freshness check. Shared, so every relay of a cluster sees a claim the
 *   moment it is made (see `postgres-auxiliary-store.ts`).
 * - `wallet_sessions`: bearer tokens as their sha-256 only (a copy of the database grants
 *   nobody a session), indexed by account (live sessions per wallet) and by expiry (pruning),
 *   as the SQLite store's `migrations/wallet-sessions.ts`.
 * - `epochs`: settlement epochs, as `sqlite-schema.ts`. The cumulative total is a uint256:
 *   `NUMERIC(78, 0)` holds every one exactly (SQLite had to keep it as text).
 * - `leader_leases`: one row per job that only one coordinator of the cluster may run (the
 *   settlement epoch closer), with its holder, fencing token and expiry on the database's
 *   clock (see `relay/src/cluster/leader-lease.ts`).
 *
 * Millisecond timestamps are `BIGINT`: an `INTEGER` ends in 1970 + 24 days.
 */
export const auxiliaryTables: PostgresMigration = {
  version: 2,
  name: 'nonces, wallet sessions, settlement epochs and leader leases',
  async up(client) {
    await client.query(`
      CREATE TABLE used_nonces (
        key TEXT PRIMARY KEY,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX used_nonces_by_expiry ON used_nonces (expires_at);

      CREATE TABLE wallet_sessions (
        token_sha256 TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX wallet_sessions_by_account ON wallet_sessions (account, expires_at);
      CREATE INDEX wallet_sessions_by_expiry ON wallet_sessions (expires_at);

      CREATE TABLE epochs (
        epoch INTEGER PRIMARY KEY CHECK (epoch > 0),
        root TEXT NOT NULL,
        cumulative_total NUMERIC(78, 0) NOT NULL CHECK (cumulative_total >= 0),
        leaves INTEGER NOT NULL,
        tree TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('built', 'sent', 'confirmed')),
        raw_tx TEXT,
        tx_hash TEXT,
        closed_at BIGINT NOT NULL,
        sent_at BIGINT,
        confirmed_at BIGINT
      );

      CREATE TABLE leader_leases (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        token BIGINT NOT NULL CHECK (token > 0),
        expires_at BIGINT NOT NULL
      );
    `)
  },
}
