import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, describe, expect, it } from 'vitest'
import { createLedger } from '../../ledger/ledger.ts'
import { applyVersionedMigrations, SQLITE_VERSIONED_MIGRATIONS } from '../sqlite-migrations.ts'
import { createSqliteStore } from '../sqlite-store.ts'
import { exactCredits } from './exact-credits.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempDb() {
  const dir = mkdtempSync(join(tmpdir(), 'migrate-'))
  dirs.push(dir)
  return join(dir, 'coordinator.db')
}

/** The money tables as relays before exact credits created them (no `user_version`). */
const OLD_SCHEMA = `
CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, owner TEXT NOT NULL,
  spec TEXT NOT NULL, kernel TEXT NOT NULL, status TEXT NOT NULL, priority INTEGER NOT NULL,
  deadline INTEGER, tile_rows INTEGER, tile_cols INTEGER, total_tasks INTEGER NOT NULL,
  accepted_tasks INTEGER NOT NULL, rejected_results INTEGER NOT NULL,
  task_credits INTEGER NOT NULL, budget INTEGER NOT NULL, spent INTEGER NOT NULL,
  refunded INTEGER NOT NULL, created_at INTEGER NOT NULL, finished_at INTEGER, error TEXT
);
CREATE TABLE transfers (
  id INTEGER PRIMARY KEY AUTOINCREMENT, debit TEXT NOT NULL, credit TEXT NOT NULL,
  amount INTEGER NOT NULL CHECK (amount > 0), kind TEXT NOT NULL, job_id TEXT,
  ref TEXT UNIQUE, at INTEGER NOT NULL
);
CREATE INDEX payouts_by_account ON transfers (credit) WHERE kind = 'payout';
CREATE TABLE balances (account TEXT PRIMARY KEY, balance INTEGER NOT NULL) WITHOUT ROWID;
`

const WALLET = '0x00000000000000000000000000000000000000Aa'

/** An old data directory: a finished job paid from JavaScript numbers, with `5.0` among them. */
function writeOldDatabase(path: string, extra = ''): void {
  const db = new DatabaseSync(path)
  db.exec(OLD_SCHEMA)
  db.exec(`
    INSERT INTO jobs (id, owner, spec, kernel, status, priority, total_tasks, accepted_tasks,
      rejected_results, task_credits, budget, spent, refunded, created_at, finished_at)
    VALUES ('j1', 'owner', '{"kernel":"matmul"}', 'matmul', 'completed', 1, 2, 2, 0,
      5.0, 12, 10.0, 2, 1000, 2000);
    INSERT INTO transfers (debit, credit, amount, kind, job_id, ref, at) VALUES
      ('treasury', 'owner', 100, 'grant', NULL, NULL, 1),
      ('owner', 'escrow:j1', 12, 'escrow', 'j1', NULL, 2),
      ('escrow:j1', 'pending:${WALLET}:j1', 5.0, 'pay', 'j1', 'pay:l1', 3),
      ('escrow:j1', 'pending:${WALLET}:j1', 5, 'pay', 'j1', 'pay:l2', 4),
      ('pending:${WALLET}:j1', '${WALLET}', 10, 'payout', 'j1', NULL, 5),
      ('escrow:j1', 'owner', 2, 'refund', 'j1', NULL, 5);
    -- Balances as the old code kept them, one drifted (90 is right): rebuilt from transfers.
    INSERT INTO balances (account, balance) VALUES
      ('treasury', -100), ('owner', 89.0), ('escrow:j1', 0), ('pending:${WALLET}:j1', 0),
      ('${WALLET}', 10);
    ${extra}
  `)
  db.close()
}

const userVersion = (path: string) => {
  const db = new DatabaseSync(path)
  try {
    return (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version
  } finally {
    db.close()
  }
}

describe('migration 1: credits as exact integers', () => {
  it('opens a database written by the number-based relay with nothing lost', () => {
    const path = tempDb()
    writeOldDatabase(path)
    expect(userVersion(path)).toBe(0)

    const store = createSqliteStore({ path })
    const ledger = createLedger(store)
    expect(store.getJob('j1')).toMatchObject({
      taskCredits: 5n,
      budget: 12n,
      spent: 10n,
      refunded: 2n,
      acceptedTasks: 2,
      createdAt: 1000,
    })
    expect(ledger.balance('owner')).toBe(90n)
    expect(ledger.balance(WALLET)).toBe(10n)
    expect(ledger.balance('treasury')).toBe(-100n)
    expect(ledger.earned(WALLET)).toBe(10n)
    expect(ledger.earnedTotals()).toEqual([{ account: WALLET, total: 10n }])
    expect(store.transferByRef('pay:l1')).toMatchObject({ amount: 5n, kind: 'pay' })
    expect(store.ledgerImbalance()).toBe(0n)
    store.close()
    // Every later migration ran after it.
    expect(userVersion(path)).toBe(SQLITE_VERSIONED_MIGRATIONS.at(-1)!.version)

    // Opened again, the migration does not run twice; the ledger goes on from where it was.
    const again = createSqliteStore({ path })
    createLedger(again).grant('owner', 2n ** 60n, 6)
    expect(again.balance('owner')).toBe(2n ** 60n + 90n)
    again.close()
  })

  it('refuses an amount that is not a whole number of credits, naming the row, and changes nothing', () => {
    const path = tempDb()
    writeOldDatabase(
      path,
      `INSERT INTO transfers (debit, credit, amount, kind, at) VALUES ('treasury', 'x', 2.5, 'grant', 7);`,
    )
    expect(() => createSqliteStore({ path })).toThrow(
      /migration 1 \(credits as exact 64-bit integers\) failed, the database is unchanged: transfers row id = 7 has amount 2\.5 \(real\)/,
    )
    expect(userVersion(path)).toBe(0)
    const db = new DatabaseSync(path)
    // Still the drifted balance: the rebuild was rolled back with the rest.
    expect(db.prepare("SELECT balance FROM balances WHERE account = 'owner'").get()).toEqual({
      balance: 89,
    })
    db.close()
  })

  it('refuses a REAL past the 64-bit range (what an overflowing sum became)', () => {
    const path = tempDb()
    writeOldDatabase(path, `UPDATE jobs SET budget = 1e19 WHERE id = 'j1';`)
    expect(() => createSqliteStore({ path })).toThrow(
      /jobs row id = "j1" has budget 10000000000000000000 \(real\)/,
    )
  })

  it('turns an integral REAL into its INTEGER where a column kept it as a REAL', () => {
    // A column without INTEGER affinity keeps 5.0 as written (an INTEGER column converts it
    // on insert): the migration makes it the INTEGER 5, so it reads back as 5n.
    const db = new DatabaseSync(':memory:')
    db.exec(`CREATE TABLE jobs (id TEXT PRIMARY KEY, task_credits, budget, spent, refunded);
      CREATE TABLE transfers (id INTEGER PRIMARY KEY, debit TEXT, credit TEXT, amount);
      CREATE TABLE balances (account TEXT PRIMARY KEY, balance);
      INSERT INTO jobs VALUES ('j', 5.0, 12.0, 9007199254740992.0, 0);
      INSERT INTO transfers VALUES (1, 'treasury', 'a', 5.0);`)
    expect(db.prepare('SELECT typeof(amount) AS t FROM transfers').get()).toEqual({ t: 'real' })
    applyVersionedMigrations(db, [exactCredits])
    const types = db
      .prepare(
        'SELECT typeof(task_credits) AS a, typeof(budget) AS b, typeof(spent) AS c FROM jobs',
      )
      .get()
    expect(types).toEqual({ a: 'integer', b: 'integer', c: 'integer' })
    const read = db.prepare('SELECT amount FROM transfers')
    read.setReadBigInts(true)
    expect(read.get()).toEqual({ amount: 5n })
    const balances = db.prepare('SELECT account, balance FROM balances ORDER BY account')
    balances.setReadBigInts(true)
    expect(balances.all()).toEqual([
      { account: 'a', balance: 5n },
      { account: 'treasury', balance: -5n },
    ])
    expect((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version).toBe(
      1,
    )
    db.close()
  })

  it('refuses a database newer than this relay', () => {
    const path = tempDb()
    const db = new DatabaseSync(path)
    db.exec('PRAGMA user_version = 99')
    db.close()
    expect(() => createSqliteStore({ path })).toThrow(
      /schema version 99, newer than this relay knows/,
    )
  })
})
