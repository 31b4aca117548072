/**
 * Tables of the embedded store. `CREATE ... IF NOT EXISTS` so opening an existing data
 * directory is a no-op; a later change to a table gets a numbered migration here.
 *
 * Credits are exact integers: every amount column holds an SQLite INTEGER (a signed 64-bit
 * integer), read back as a `bigint` (`setReadBigInts`), never a REAL. The ledger is
 * double-entry: every row of `transfers` debits one account and credits another, and
 * `balances` holds each account's running sum, updated in the same transaction, so the sum
 * of all balances is always zero.
 */
export const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  owner TEXT NOT NULL,
  spec TEXT NOT NULL,
  kernel TEXT NOT NULL,
  status TEXT NOT NULL,
  priority INTEGER NOT NULL,
  deadline INTEGER,
  tile_rows INTEGER,
  tile_cols INTEGER,
  total_tasks INTEGER NOT NULL,
  accepted_tasks INTEGER NOT NULL,
  rejected_results INTEGER NOT NULL,
  task_credits INTEGER NOT NULL,
  budget INTEGER NOT NULL,
  spent INTEGER NOT NULL,
  refunded INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER,
  error TEXT,
  -- Added by migration 2 (migrations/job-detail-columns.ts) to databases made before it.
  first_lease_at INTEGER,
  canaries_accepted INTEGER NOT NULL DEFAULT 0,
  -- Added by migration 5 (migrations/inference-results.ts) to databases made before it.
  closed_tasks INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner, seq);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, seq);

CREATE TABLE IF NOT EXISTS results (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL REFERENCES jobs (id),
  task_index INTEGER NOT NULL,
  task_id TEXT NOT NULL,
  lease_id TEXT NOT NULL UNIQUE,
  payee TEXT NOT NULL,
  peer_id TEXT NOT NULL,
  outputs TEXT NOT NULL,
  method TEXT NOT NULL,
  accepted_at INTEGER NOT NULL,
  -- 1: accepted on one contributor's credibility alone and not confirmed yet; hidden from
  -- readers, undone if that contributor is caught (see provisional-results.ts).
  provisional INTEGER NOT NULL DEFAULT 0,
  -- Added by migration 5: a decoder result's signature by its contributor's peer key.
  signature TEXT,
  UNIQUE (job_id, task_index)
);
CREATE INDEX IF NOT EXISTS results_by_job ON results (job_id, seq);

CREATE TABLE IF NOT EXISTS contributors (
  id TEXT PRIMARY KEY,
  payee TEXT NOT NULL,
  verified INTEGER NOT NULL,
  faults INTEGER NOT NULL,
  banned INTEGER NOT NULL,
  last_seen INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS bans (
  key TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  at INTEGER NOT NULL
) WITHOUT ROWID;

-- Faults per wallet and per network address, across the peer ids they used.
CREATE TABLE IF NOT EXISTS fault_counts (
  key TEXT PRIMARY KEY,
  faults INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS transfers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  debit TEXT NOT NULL,
  credit TEXT NOT NULL,
  amount INTEGER NOT NULL CHECK (amount > 0),
  kind TEXT NOT NULL,
  job_id TEXT,
  ref TEXT UNIQUE,
  at INTEGER NOT NULL
);
-- Only earnings are summed per account (what a contributor or a site earned): index just those rows.
CREATE INDEX IF NOT EXISTS earnings_by_account ON transfers (credit)
  WHERE kind IN ('payout', 'site-share');

CREATE TABLE IF NOT EXISTS blobs (
  hash TEXT PRIMARY KEY,
  bytes BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS balances (
  account TEXT PRIMARY KEY,
  balance INTEGER NOT NULL
) WITHOUT ROWID;

-- Nonces of accepted wallet-signed API requests, until their timestamps can no longer pass
-- the freshness check: a request used once is refused again after a restart.
CREATE TABLE IF NOT EXISTS used_nonces (
  key TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS used_nonces_by_expiry ON used_nonces (expires_at);

-- Settlement epochs (see relay/src/settlement/epoch-closer.ts): a row is written before its
-- root is sent to the chain and updated after, so a restart finishes what a crash left.
-- Amounts are decimal text (uint256 does not fit an INTEGER); tree is StandardMerkleTree.dump().
CREATE TABLE IF NOT EXISTS epochs (
  epoch INTEGER PRIMARY KEY,
  root TEXT NOT NULL,
  cumulative_total TEXT NOT NULL,
  leaves INTEGER NOT NULL,
  tree TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('built', 'sent', 'confirmed')),
  raw_tx TEXT,
  tx_hash TEXT,
  closed_at INTEGER NOT NULL,
  sent_at INTEGER,
  confirmed_at INTEGER
);
`

/**
 * Columns added to tables of an existing data directory, in order; each runs once, when the
 * column it adds is missing (`CREATE ... IF NOT EXISTS` above leaves an old table as it was).
 */
export const SQLITE_MIGRATIONS: ReadonlyArray<{ table: string; column: string; sql: string }> = [
  {
    // Rows written before provisional acceptances existed were all published: they stay so.
    table: 'results',
    column: 'provisional',
    sql: 'ALTER TABLE results ADD COLUMN provisional INTEGER NOT NULL DEFAULT 0',
  },
]

/**
 * Indexes on columns a migration may have just added: created after `SQLITE_MIGRATIONS`.
 * Provisional rows are few and short-lived, so a partial index finds a job's at a restart
 * without reading its published ones.
 */
export const SQLITE_POST_MIGRATION = `
CREATE INDEX IF NOT EXISTS results_provisional ON results (job_id, seq) WHERE provisional = 1;
`
