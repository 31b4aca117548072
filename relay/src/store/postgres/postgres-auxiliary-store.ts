import type { EpochState } from '@tabswarm/protocol'
import type pg from 'pg'
import type { Hex, SignedTransaction } from '../../settlement/chain/settlement-chain.ts'
import type { EpochStore, StoredEpoch } from '../../settlement/epoch-store.ts'
import type { JournalEntry, JournaledOp } from '../store-journal.ts'
import type { UsedNonces } from '../used-nonces.ts'
import type { StoredWalletSession, WalletSessionStore } from '../wallet-session-store.ts'
import {
  assertMs,
  msFromInt8,
  type PostgresCallOptions,
  type Queryable,
  runQuery,
} from './postgres-query.ts'

/** How `createPostgresAuxiliaryStore` keeps time. */
export interface PostgresAuxiliaryStoreOptions {
  /** The clock that decides whether a nonce has expired. @default Date.now */
  now?: () => number
}

type Reads = Pick<PostgresCallOptions, 'signal'>

/** `UsedNonces`, asynchronous, shared by every relay of the cluster. */
export interface PostgresUsedNonces {
  /** Whether `key` is claimed and its claim has not expired by `now`. */
  nonceUsed(key: string, options?: Reads): Promise<boolean>
  /** Claims `key` until `expiresAt`; false, changing nothing, when a live claim holds it. */
  claimNonce(key: string, expiresAt: number, options?: PostgresCallOptions): Promise<boolean>
  pruneNonces(at: number, options?: PostgresCallOptions): Promise<number>
  countNonces(options?: Reads): Promise<number>
}

/** `WalletSessionStore`, asynchronous. */
export interface PostgresWalletSessionStore {
  insertSession(session: StoredWalletSession, options?: PostgresCallOptions): Promise<void>
  sessionByToken(tokenSha256: string, options?: Reads): Promise<StoredWalletSession | undefined>
  deleteSession(tokenSha256: string, options?: PostgresCallOptions): Promise<boolean>
  liveSessions(account: string, at: number, options?: Reads): Promise<StoredWalletSession[]>
  pruneSessions(at: number, options?: PostgresCallOptions): Promise<number>
}

/** `EpochStore`, asynchronous. */
export interface PostgresEpochStore {
  insertEpoch(
    epoch: Parameters<EpochStore['insertEpoch']>[0],
    options?: PostgresCallOptions,
  ): Promise<void>
  markEpochSent(
    epoch: number,
    tx: SignedTransaction,
    at: number,
    options?: PostgresCallOptions,
  ): Promise<void>
  markEpochBuilt(epoch: number, options?: PostgresCallOptions): Promise<void>
  markEpochConfirmed(epoch: number, at: number, options?: PostgresCallOptions): Promise<void>
  getEpoch(epoch: number, options?: Reads): Promise<StoredEpoch | undefined>
  latestEpoch(options?: Reads): Promise<StoredEpoch | undefined>
  latestConfirmedEpoch(options?: Reads): Promise<StoredEpoch | undefined>
  listEpochs(
    query: { limit: number; before?: number },
    options?: Reads,
  ): Promise<Array<Omit<StoredEpoch, 'tree'>>>
}

/**
 * Nonces, wallet sessions and settlement epochs in the PostgreSQL that several
 * relay/coordinators share (tables of migration 2, `migrations/auxiliary-tables.ts`). The
 * same operations and answers as the SQLite store's (`sqlite-store.ts`), asynchronous, each
 * write on its own or, given `client`, inside the caller's transaction. Two differences,
 * both for a cluster:
 *
 * - `claimNonce` is one `INSERT … ON CONFLICT` statement: of two relays claiming the same
 *   nonce at once exactly one wins. A row whose expiry has passed (by `now`) may be claimed
 *   again without waiting for `pruneNonces`, and `nonceUsed` no longer reports it: its
 *   request could not pass the freshness check any more.
 * - `insertEpoch` refuses a number that is not the next one in the same statement that
 *   inserts it, so two closers racing on one number cannot both succeed.
 */
export interface PostgresAuxiliaryStore
  extends PostgresUsedNonces,
    PostgresWalletSessionStore,
    PostgresEpochStore {}

// Compile-time check that the operations are those of the synchronous interfaces.
type SameOps<A, B> = [keyof A] extends [keyof B]
  ? [keyof B] extends [keyof A]
    ? true
    : never
  : never
const sameOps: [
  SameOps<PostgresUsedNonces, UsedNonces>,
  SameOps<PostgresWalletSessionStore, WalletSessionStore>,
  SameOps<PostgresEpochStore, EpochStore>,
] = [true, true, true]
void sameOps

type Row = Record<string, unknown>

const EPOCH_SUMMARY_COLUMNS =
  'epoch, root, cumulative_total, leaves, state, raw_tx, tx_hash, closed_at, sent_at, confirmed_at'

function sessionFromRow(row: Row): StoredWalletSession {
  return {
    tokenSha256: row.token_sha256 as string,
    account: row.account as string,
    createdAt: msFromInt8(row.created_at),
    expiresAt: msFromInt8(row.expires_at),
  }
}

function epochSummaryFromRow(row: Row): Omit<StoredEpoch, 'tree'> {
  const msOrNull = (value: unknown) => (value == null ? null : msFromInt8(value))
  return {
    epoch: row.epoch as number,
    root: row.root as Hex,
    // NUMERIC arrives as its exact decimal text.
    cumulativeTotal: BigInt(row.cumulative_total as string),
    leaves: row.leaves as number,
    state: row.state as EpochState,
    rawTx: (row.raw_tx as Hex | null) ?? null,
    txHash: (row.tx_hash as Hex | null) ?? null,
    closedAt: msFromInt8(row.closed_at),
    sentAt: msOrNull(row.sent_at),
    confirmedAt: msOrNull(row.confirmed_at),
  }
}

function epochFromRow(row: Row): StoredEpoch {
  return { ...epochSummaryFromRow(row), tree: row.tree as string }
}

function assertEpochNumber(epoch: number): void {
  if (!Number.isInteger(epoch) || epoch < 1 || epoch > 2 ** 31 - 1)
    throw new RangeError(`an epoch number is a positive 32-bit integer, got ${epoch}`)
}

/** PostgreSQL's `unique_violation`. */
const UNIQUE_VIOLATION = '23505'

/**
 * The store over `on`: a pool (a relay's), or one connection whose transaction every call
 * then joins (`applyAuxiliaryEntry`'s).
 */
export function createPostgresAuxiliaryStore(
  on: Queryable,
  options: PostgresAuxiliaryStoreOptions = {},
): PostgresAuxiliaryStore {
  const now = options.now ?? Date.now
  const query = <R extends Row>(text: string, values: unknown[], call?: PostgresCallOptions) =>
    runQuery<R>(on, text, values, call)
  const oneEpoch = async (text: string, values: unknown[], call?: Reads) => {
    const row = (await query(text, values, call)).rows[0]
    return row == null ? undefined : epochFromRow(row)
  }

  return {
    async nonceUsed(key, call) {
      const { rowCount } = await query(
        'SELECT 1 FROM used_nonces WHERE key = $1 AND expires_at > $2',
        [key, now()],
        call,
      )
      return (rowCount ?? 0) > 0
    },

    async claimNonce(key, expiresAt, call) {
      assertMs('expiresAt', expiresAt)
      // One statement: the row lock of the conflicting row orders concurrent claims, and the
      // loser's WHERE sees the winner's live expiry, so it updates nothing.
      const { rowCount } = await query(
        `INSERT INTO used_nonces (key, expires_at) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
         WHERE used_nonces.expires_at <= $3`,
        [key, expiresAt, now()],
        call,
      )
      return rowCount === 1
    },

    async pruneNonces(at, call) {
      assertMs('at', at)
      const { rowCount } = await query('DELETE FROM used_nonces WHERE expires_at <= $1', [at], call)
      return rowCount ?? 0
    },

    async countNonces(call) {
      const { rows } = await query<{ n: bigint }>('SELECT count(*) AS n FROM used_nonces', [], call)
      return msFromInt8(rows[0]?.n)
    },

    async insertSession(session, call) {
      assertMs('createdAt', session.createdAt)
      assertMs('expiresAt', session.expiresAt)
      await query(
        'INSERT INTO wallet_sessions (token_sha256, account, created_at, expires_at) VALUES ($1, $2, $3, $4)',
        [session.tokenSha256, session.account, session.createdAt, session.expiresAt],
        call,
      )
    },

    async sessionByToken(tokenSha256, call) {
      const { rows } = await query(
        'SELECT * FROM wallet_sessions WHERE token_sha256 = $1',
        [tokenSha256],
        call,
      )
      return rows[0] == null ? undefined : sessionFromRow(rows[0])
    },

    async deleteSession(tokenSha256, call) {
      const { rowCount } = await query(
        'DELETE FROM wallet_sessions WHERE token_sha256 = $1',
        [tokenSha256],
        call,
      )
      return (rowCount ?? 0) > 0
    },

    async liveSessions(account, at, call) {
      assertMs('at', at)
      const { rows } = await query(
        'SELECT * FROM wallet_sessions WHERE account = $1 AND expires_at > $2 ORDER BY created_at, token_sha256',
        [account, at],
        call,
      )
      return rows.map(sessionFromRow)
    },

    async pruneSessions(at, call) {
      assertMs('at', at)
      const { rowCount } = await query(
        'DELETE FROM wallet_sessions WHERE expires_at <= $1',
        [at],
        call,
      )
      return rowCount ?? 0
    },

    async insertEpoch(epoch, call) {
      assertEpochNumber(epoch.epoch)
      assertMs('closedAt', epoch.closedAt)
      if (epoch.cumulativeTotal < 0n)
        throw new RangeError(
          `an epoch's cumulative total is never negative, got ${epoch.cumulativeTotal}`,
        )
      let inserted: number
      try {
        const result = await query(
          `INSERT INTO epochs (epoch, root, cumulative_total, leaves, tree, state, closed_at)
           SELECT $1, $2, $3::numeric, $4, $5, 'built', $6
           WHERE (SELECT COALESCE(max(epoch), 0) FROM epochs) = $1::integer - 1`,
          [
            epoch.epoch,
            epoch.root,
            epoch.cumulativeTotal.toString(),
            epoch.leaves,
            epoch.tree,
            epoch.closedAt,
          ],
          call,
        )
        inserted = result.rowCount ?? 0
      } catch (err) {
        // Another closer inserted this very number between our read of max and our insert.
        if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err
        inserted = 0
      }
      if (inserted === 1) return
      const { rows } = await query<{ n: number }>(
        'SELECT COALESCE(max(epoch), 0) AS n FROM epochs',
        [],
        call,
      )
      throw new RangeError(
        `epoch ${epoch.epoch} is not the next one: the store's latest is ${rows[0]?.n ?? 0}`,
      )
    },

    async markEpochSent(epoch, tx, at, call) {
      assertMs('at', at)
      await query(
        "UPDATE epochs SET state = 'sent', raw_tx = $1, tx_hash = $2, sent_at = $3 WHERE epoch = $4",
        [tx.raw, tx.hash, at, epoch],
        call,
      )
    },

    async markEpochBuilt(epoch, call) {
      await query(
        "UPDATE epochs SET state = 'built', raw_tx = NULL, tx_hash = NULL, sent_at = NULL WHERE epoch = $1",
        [epoch],
        call,
      )
    },

    async markEpochConfirmed(epoch, at, call) {
      assertMs('at', at)
      await query(
        "UPDATE epochs SET state = 'confirmed', confirmed_at = $1 WHERE epoch = $2",
        [at, epoch],
        call,
      )
    },

    getEpoch: (epoch, call) => oneEpoch('SELECT * FROM epochs WHERE epoch = $1', [epoch], call),

    latestEpoch: (call) => oneEpoch('SELECT * FROM epochs ORDER BY epoch DESC LIMIT 1', [], call),

    latestConfirmedEpoch: (call) =>
      oneEpoch(
        "SELECT * FROM epochs WHERE state = 'confirmed' ORDER BY epoch DESC LIMIT 1",
        [],
        call,
      ),

    async listEpochs({ limit, before }, call) {
      if (!Number.isInteger(limit) || limit < 0)
        throw new RangeError(`limit must be a whole number, got ${limit}`)
      const { rows } = await query(
        `SELECT ${EPOCH_SUMMARY_COLUMNS} FROM epochs
         WHERE ($1::integer IS NULL OR epoch < $1) ORDER BY epoch DESC LIMIT $2`,
        [before ?? null, limit],
        call,
      )
      return rows.map(epochSummaryFromRow)
    },
  }
}

/** The journaled operations that `applyAuxiliaryEntry` applies; the pg-store applies the rest. */
export const AUXILIARY_OPS = new Set<JournaledOp>([
  'claimNonce',
  'pruneNonces',
  'insertEpoch',
  'markEpochSent',
  'markEpochBuilt',
  'markEpochConfirmed',
  'insertSession',
  'deleteSession',
  'pruneSessions',
])

type AuxiliaryEntry = Extract<
  JournalEntry,
  {
    op:
      | 'claimNonce'
      | 'pruneNonces'
      | 'insertEpoch'
      | 'markEpochSent'
      | 'markEpochBuilt'
      | 'markEpochConfirmed'
      | 'insertSession'
      | 'deleteSession'
      | 'pruneSessions'
  }
>

/** Whether `applyAuxiliaryEntry` applies this entry. */
export function isAuxiliaryEntry(entry: JournalEntry): entry is AuxiliaryEntry {
  return AUXILIARY_OPS.has(entry.op)
}

/**
 * Applies one journal entry of the in-memory store to PostgreSQL, inside the caller's
 * transaction (the group commit). Epoch entries are the settlement closer's: the caller runs
 * the closer's leader-lease fence (`relay/src/cluster/leader-lease.ts`) in that transaction
 * first, so a deposed closer's writes are refused.
 *
 * A `claimNonce` here is a record of a claim already decided in memory: it is kept (until
 * the later expiry of the two, if the row exists), never refused. A journal applied after the
 * request's effect cannot refuse a replay to another relay; a relay of a cluster must claim
 * in PostgreSQL first (`PostgresUsedNonces.claimNonce`), before the request has any effect.
 * A claim that memory refused (`result` false) changed nothing and writes nothing.
 */
export async function applyAuxiliaryEntry(
  client: pg.ClientBase,
  entry: JournalEntry,
): Promise<void> {
  if (!isAuxiliaryEntry(entry))
    throw new Error(
      `applyAuxiliaryEntry applies nonce, session and epoch entries; ${entry.op} belongs to the core store's applyJournal`,
    )
  if (entry.op === 'claimNonce') {
    if (!entry.result) return
    const [key, expiresAt] = entry.args
    assertMs('expiresAt', expiresAt)
    await runQuery(
      client,
      `INSERT INTO used_nonces (key, expires_at) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET expires_at = GREATEST(used_nonces.expires_at, EXCLUDED.expires_at)`,
      [key, expiresAt],
    )
    return
  }
  // Every other entry is the store's own call, replayed in the caller's transaction.
  const store = createPostgresAuxiliaryStore(client)
  switch (entry.op) {
    case 'pruneNonces':
      await store.pruneNonces(...entry.args)
      return
    case 'insertSession':
      return store.insertSession(...entry.args)
    case 'deleteSession':
      await store.deleteSession(...entry.args)
      return
    case 'pruneSessions':
      await store.pruneSessions(...entry.args)
      return
    case 'insertEpoch':
      return store.insertEpoch(...entry.args)
    case 'markEpochSent':
      return store.markEpochSent(...entry.args)
    case 'markEpochBuilt':
      return store.markEpochBuilt(...entry.args)
    case 'markEpochConfirmed':
      return store.markEpochConfirmed(...entry.args)
  }
}
