import type { SqliteMigration } from '../sqlite-migrations.ts'

/**
 * Wallet sessions (`POST /v1/sessions`): a bearer token per row, kept as its sha-256 only
 * (a copy of the database grants nobody a session), with the wallet it stands for and its
 * expiry. Indexed by account, to count and trim an account's live sessions, and by expiry,
 * to prune the expired ones.
 */
export const walletSessions: SqliteMigration = {
  version: 4,
  name: 'wallet sessions',
  up(db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS wallet_sessions (
        token_sha256 TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS wallet_sessions_by_account ON wallet_sessions (account, expires_at);
      CREATE INDEX IF NOT EXISTS wallet_sessions_by_expiry ON wallet_sessions (expires_at);
    `)
  },
}
