import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import type { EpochState, JobStatus, TaskResultRecord } from '@tabswarm/protocol'
import type { Hex } from '../settlement/chain/settlement-chain.ts'
import type { StoredEpoch } from '../settlement/epoch-store.ts'
import type {
  CoordinatorStore,
  JobPatch,
  LedgerEntry,
  LedgerKind,
  ResultSummary,
  StoredJob,
  StoredResult,
} from './coordinator-store.ts'
import { applyVersionedMigrations } from './sqlite-migrations.ts'
import { SQLITE_MIGRATIONS, SQLITE_POST_MIGRATION, SQLITE_SCHEMA } from './sqlite-schema.ts'
import type { StoredWalletSession } from './wallet-session-store.ts'

export interface SqliteStoreOptions {
  /** Database file, or `:memory:` for tests. */
  path: string
  /**
   * `normal`: a commit survives a crash of this process (SIGKILL included) at once, and an
   * OS crash or power loss once the WAL is checkpointed; commits cost microseconds.
   * `full`: every commit is fsynced first and survives power loss too, at the cost of one
   * disk flush per state change (milliseconds on most disks).
   * @default 'normal'
   */
  synchronous?: 'normal' | 'full'
  /** Units of work committed together at most; a batch also commits on the next event-loop turn. @default 2000 */
  maxBatch?: number
}

type Row = Record<string, unknown>

/**
 * One job's durable rows as another store holds them: what a coordinator of a cluster
 * loads into its in-memory store when it takes the job over (see `relay/src/cluster/`).
 */
export interface JobRows {
  job: StoredJob
  /** Every result row of the job, provisional ones too, with the `seq` they have there. */
  results: readonly StoredResult[]
  /** The balances of the job's own accounts (its escrow, its pending earnings). */
  balances: ReadonlyArray<{ account: string; balance: bigint }>
  /**
   * The job's transfers (rows only: the balances above are their sum): an undone
   * acceptance looks its payment up by ref.
   */
  transfers: readonly LedgerEntry[]
}

/**
 * The SQLite store, plus what copies rows in from another store without going through the
 * operations that would make them new: used by a cluster coordinator's in-memory working
 * set, never on the embedded path.
 */
export interface SqliteStore extends CoordinatorStore {
  /**
   * Replaces everything this store holds of `rows.job.id` with `rows`: the job row (under
   * a seq of this store's), its results under their own seqs, its transfers, its
   * accounts' balances.
   */
  restoreJob(rows: JobRows): void
  /** Sets an account's balance as another store has it (a researcher's, before a submit). */
  setBalance(account: string, balance: bigint): void
  /** The next result inserted gets this `seq` (or the next free one above). */
  setNextResultSeq(seq: number): void
}

const COMMITTED: Promise<void> = Promise.resolve()

/** What SQLite keeps exactly: a signed 64-bit INTEGER. Past it, a sum silently becomes a REAL. */
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** An integer column read by a statement that reads bigints, as a number (counts, times, ids). */
const int = (value: unknown): number => Number(value)

/** SQL of a list of ledger kinds (our own constants, never peer input). */
const kindList = (kinds: readonly LedgerKind[]) =>
  kinds.map((kind) => `'${kind.replaceAll("'", "''")}'`).join(', ')

/**
 * Transfer kinds whose running totals are kept (`transferredTotal`): those that move once per
 * job or less. Not `pay`, `forfeit` or `canary`, which move per result, on the hot path.
 */
export const TOTALED_KINDS: ReadonlySet<LedgerKind> = new Set<LedgerKind>([
  'grant',
  'escrow',
  'payout',
  'site-share',
  'refund',
])

const JOB_COLUMNS: Record<keyof JobPatch, string> = {
  status: 'status',
  acceptedTasks: 'accepted_tasks',
  rejectedResults: 'rejected_results',
  spent: 'spent',
  refunded: 'refunded',
  finishedAt: 'finished_at',
  error: 'error',
  firstLeaseAt: 'first_lease_at',
  canariesAccepted: 'canaries_accepted',
  closedTasks: 'closed_tasks',
}

/** A `jobs` row read with bigints: money stays exact, the rest becomes numbers. */
function jobFromRow(row: Row): StoredJob {
  const job: StoredJob = {
    id: row.id as string,
    seq: int(row.seq),
    owner: row.owner as string,
    spec: JSON.parse(row.spec as string),
    kernel: row.kernel as StoredJob['kernel'],
    status: row.status as JobStatus,
    priority: int(row.priority),
    totalTasks: int(row.total_tasks),
    acceptedTasks: int(row.accepted_tasks),
    rejectedResults: int(row.rejected_results),
    taskCredits: row.task_credits as bigint,
    budget: row.budget as bigint,
    spent: row.spent as bigint,
    refunded: row.refunded as bigint,
    createdAt: int(row.created_at),
  }
  if (row.deadline != null) job.deadline = int(row.deadline)
  if (row.tile_rows != null) job.tileRows = int(row.tile_rows)
  if (row.tile_cols != null) job.tileCols = int(row.tile_cols)
  if (row.finished_at != null) job.finishedAt = int(row.finished_at)
  if (row.error != null) job.error = row.error as string
  if (row.first_lease_at != null) job.firstLeaseAt = int(row.first_lease_at)
  const canaries = int(row.canaries_accepted ?? 0)
  if (canaries > 0) job.canariesAccepted = canaries
  const closed = int(row.closed_tasks ?? 0)
  if (closed > 0) job.closedTasks = closed
  return job
}

function resultFromRow(row: Row): StoredResult {
  return {
    jobId: row.job_id as string,
    taskIndex: row.task_index as number,
    taskId: row.task_id as string,
    leaseId: row.lease_id as string,
    payee: row.payee as string,
    peerId: row.peer_id as string,
    outputs: JSON.parse(row.outputs as string),
    method: row.method as StoredResult['method'],
    acceptedAt: row.accepted_at as number,
    seq: row.seq as number,
    ...(row.provisional === 1 ? { provisional: true } : {}),
    ...(typeof row.signature === 'string' ? { signature: row.signature } : {}),
  }
}

function sessionFromRow(row: Row): StoredWalletSession {
  return {
    tokenSha256: row.token_sha256 as string,
    account: row.account as string,
    createdAt: int(row.created_at),
    expiresAt: int(row.expires_at),
  }
}

function epochFromRow(row: Row): StoredEpoch {
  return { ...epochSummaryFromRow(row), tree: row.tree as string }
}

function epochSummaryFromRow(row: Row): Omit<StoredEpoch, 'tree'> {
  return {
    epoch: row.epoch as number,
    root: row.root as Hex,
    cumulativeTotal: BigInt(row.cumulative_total as string),
    leaves: row.leaves as number,
    state: row.state as EpochState,
    rawTx: (row.raw_tx as Hex | null) ?? null,
    txHash: (row.tx_hash as Hex | null) ?? null,
    closedAt: row.closed_at as number,
    sentAt: (row.sent_at as number | null) ?? null,
    confirmedAt: (row.confirmed_at as number | null) ?? null,
  }
}

/**
 * The embedded store: one SQLite file in WAL mode (readers never block the writer),
 * prepared statements only, every multi-step change in one `BEGIN IMMEDIATE` transaction.
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true })
  const db = new DatabaseSync(options.path, { timeout: 5_000 })
  db.exec('PRAGMA journal_mode = WAL')
  db.exec(`PRAGMA synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
  db.exec('PRAGMA foreign_keys = ON')
  // Fewer, larger checkpoints and a cache that holds the hot B-tree pages of a busy relay.
  db.exec('PRAGMA wal_autocheckpoint = 8192')
  db.exec('PRAGMA cache_size = -65536')
  // Every unit of work is a savepoint, whose sub-journal keeps the pages it changes; past
  // 64 KiB SQLite spills it to a temporary file: about twenty pwrite calls per accepted
  // result, four in five of the hot path's writes. In memory it is a copy: units are small.
  db.exec('PRAGMA temp_store = MEMORY')
  db.exec(SQLITE_SCHEMA)
  for (const migration of SQLITE_MIGRATIONS) {
    const columns = db.prepare(`PRAGMA table_info(${migration.table})`).all() as Row[]
    if (!columns.some((c) => c.name === migration.column)) db.exec(migration.sql)
  }
  db.exec(SQLITE_POST_MIGRATION)
  try {
    applyVersionedMigrations(db)
  } catch (err) {
    // Refused: the file stays as it was, and closed, for the operator to look at.
    db.close()
    throw err
  }

  const cache = new Map<string, StatementSync>()
  const sql = (text: string): StatementSync => {
    let statement = cache.get(text)
    if (statement == null) {
      statement = db.prepare(text)
      cache.set(text, statement)
    }
    return statement
  }
  /** A statement that reads money: every INTEGER comes back as an exact `bigint`. */
  const moneyCache = new Map<string, StatementSync>()
  const money = (text: string): StatementSync => {
    let statement = moneyCache.get(text)
    if (statement == null) {
      statement = db.prepare(text)
      statement.setReadBigInts(true)
      moneyCache.set(text, statement)
    }
    return statement
  }

  // Group commit: units of work run as savepoints inside one open transaction, committed
  // on the next turn of the event loop (or after `maxBatch` units). Callers that must not
  // answer before their change is durable await `flushed()`: one promise per open batch,
  // made when first asked for, shared by every caller (a busy relay asks per result).
  const maxBatch = options.maxBatch ?? 2_000
  let depth = 0
  let batchOpen = false
  let batched = 0
  let waiting:
    | { done: Promise<void>; resolve: () => void; reject: (err: unknown) => void }
    | undefined
  let timer: ReturnType<typeof setImmediate> | undefined

  // Compute counted per hour (`addCompute`) is summed in memory and written once per group,
  // just before it commits, in the same transaction: one row per hour per group instead of
  // an upsert per accepted task on the hot path. A unit's part joins the group only when the
  // unit is released, so a unit rolled back takes its count with it.
  type ComputeSum = { gflop: number; tasks: number }
  const unitCompute = new Map<number, ComputeSum>()
  const groupCompute = new Map<number, ComputeSum>()
  const addTo = (into: Map<number, ComputeSum>, hour: number, gflop: number, tasks: number) => {
    const sum = into.get(hour)
    if (sum == null) into.set(hour, { gflop, tasks })
    else {
      sum.gflop += gflop
      sum.tasks += tasks
    }
  }
  /** Writes the group's compute into the open transaction (before a commit, or a read). */
  function writeGroupCompute(): void {
    if (groupCompute.size === 0) return
    const upsert = sql(
      `INSERT INTO compute_hours (hour, gflop, tasks) VALUES (?, ?, ?)
       ON CONFLICT (hour) DO UPDATE SET gflop = gflop + excluded.gflop, tasks = tasks + excluded.tasks`,
    )
    for (const [hour, sum] of groupCompute) upsert.run(hour, sum.gflop, sum.tasks)
    groupCompute.clear()
  }

  function commit(): void {
    if (timer != null) clearImmediate(timer)
    timer = undefined
    const settled = waiting
    waiting = undefined
    if (batchOpen) {
      batchOpen = false
      batched = 0
      try {
        writeGroupCompute()
        sql('COMMIT').run()
      } catch (err) {
        // A failed COMMIT can leave the transaction open (SQLITE_BUSY): end it, so the next
        // unit starts a fresh one instead of failing on BEGIN.
        if (db.isTransaction) {
          try {
            sql('ROLLBACK').run()
          } catch {
            // Already gone.
          }
        }
        settled?.reject(err)
        throw err
      }
    }
    settled?.resolve()
  }

  const store: SqliteStore = {
    transaction(fn) {
      if (depth > 0) return fn()
      if (!batchOpen) {
        sql('BEGIN IMMEDIATE').run()
        batchOpen = true
        timer = setImmediate(commit)
      }
      sql('SAVEPOINT unit').run()
      depth++
      try {
        const value = fn()
        sql('RELEASE unit').run()
        for (const [hour, sum] of unitCompute) addTo(groupCompute, hour, sum.gflop, sum.tasks)
        unitCompute.clear()
        if (++batched >= maxBatch) commit()
        return value
      } catch (err) {
        unitCompute.clear()
        sql('ROLLBACK TO unit').run()
        sql('RELEASE unit').run()
        throw err
      } finally {
        depth--
      }
    },

    flushed() {
      if (!batchOpen) return COMMITTED
      if (waiting == null) {
        const { promise, resolve, reject } = Promise.withResolvers<void>()
        waiting = { done: promise, resolve, reject }
      }
      return waiting.done
    },

    flush() {
      if (depth === 0) commit()
    },

    insertJob(job) {
      const info = sql(
        `INSERT INTO jobs (id, owner, spec, kernel, status, priority, deadline, tile_rows, tile_cols,
           total_tasks, accepted_tasks, rejected_results, task_credits, budget, spent, refunded,
           created_at, finished_at, error, first_lease_at, canaries_accepted)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        job.id,
        job.owner,
        JSON.stringify(job.spec),
        job.kernel,
        job.status,
        job.priority,
        job.deadline ?? null,
        job.tileRows ?? null,
        job.tileCols ?? null,
        job.totalTasks,
        job.acceptedTasks,
        job.rejectedResults,
        job.taskCredits,
        job.budget,
        job.spent,
        job.refunded,
        job.createdAt,
        job.finishedAt ?? null,
        job.error ?? null,
        job.firstLeaseAt ?? null,
        job.canariesAccepted ?? 0,
      )
      job.seq = Number(info.lastInsertRowid)
    },

    updateJob(id, patch) {
      // Column names come from the fixed map above, never from the caller.
      const keys = (Object.keys(patch) as Array<keyof JobPatch>).filter((k) => k in JOB_COLUMNS)
      if (keys.length === 0) return
      const assignments = keys.map((k) => `${JOB_COLUMNS[k]} = ?`).join(', ')
      sql(`UPDATE jobs SET ${assignments} WHERE id = ?`).run(
        ...keys.map((k) => patch[k] ?? null),
        id,
      )
    },

    getJob(id) {
      const row = money('SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined
      return row == null ? undefined : jobFromRow(row)
    },

    listJobs({ owner, status, idPrefix, limit, before }) {
      // The prefix is compared as a string: LIKE would read `_` (a job id character) as a
      // wildcard, and GLOB is case-sensitive but reads `[`.
      const rows = money(
        `SELECT * FROM jobs
         WHERE (?1 IS NULL OR owner = ?1) AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR seq < ?3)
           AND (?5 IS NULL OR substr(id, 1, length(?5)) = ?5)
         ORDER BY seq DESC LIMIT ?4`,
      ).all(owner ?? null, status ?? null, before ?? null, limit, idPrefix ?? null) as Row[]
      return rows.map(jobFromRow)
    },

    runningJobs() {
      return (money("SELECT * FROM jobs WHERE status = 'running' ORDER BY seq").all() as Row[]).map(
        jobFromRow,
      )
    },

    countJobsByStatus() {
      const counts: Record<JobStatus, number> = {
        running: 0,
        completed: 0,
        failed: 0,
        cancelled: 0,
      }
      for (const row of sql(
        'SELECT status, COUNT(*) AS n FROM jobs GROUP BY status',
      ).all() as Row[])
        counts[row.status as JobStatus] = row.n as number
      return counts
    },

    acceptedTasks(jobId) {
      return (sql('SELECT task_index FROM results WHERE job_id = ?').all(jobId) as Row[]).map(
        (row) => row.task_index as number,
      )
    },

    insertResult(result) {
      const info = sql(
        `INSERT INTO results (job_id, task_index, task_id, lease_id, payee, peer_id, outputs, method, accepted_at, provisional, signature)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        result.jobId,
        result.taskIndex,
        result.taskId,
        result.leaseId,
        result.payee,
        result.peerId,
        JSON.stringify(result.outputs),
        result.method,
        result.acceptedAt,
        result.provisional === true ? 1 : 0,
        result.signature ?? null,
      )
      return Number(info.lastInsertRowid)
    },

    provisionalResults(jobId) {
      const rows = sql(
        'SELECT * FROM results WHERE job_id = ? AND provisional = 1 ORDER BY seq',
      ).all(jobId) as Row[]
      return rows.map(resultFromRow)
    },

    deleteResult(jobId, taskIndex) {
      const { changes } = sql('DELETE FROM results WHERE job_id = ? AND task_index = ?').run(
        jobId,
        taskIndex,
      )
      return Number(changes) > 0
    },

    confirmResult(jobId, taskIndex) {
      const row = sql(
        'SELECT * FROM results WHERE job_id = ? AND task_index = ? AND provisional = 1',
      ).get(jobId, taskIndex) as Row | undefined
      if (row == null) return undefined
      // A new row, so a new seq above every cursor a reader holds: a reader that went past
      // the old seq while the row was hidden still reads it.
      const result = resultFromRow(row)
      store.deleteResult(jobId, taskIndex)
      return store.insertResult({
        jobId: result.jobId,
        taskIndex: result.taskIndex,
        taskId: result.taskId,
        leaseId: result.leaseId,
        payee: result.payee,
        peerId: result.peerId,
        outputs: result.outputs,
        method: result.method,
        acceptedAt: result.acceptedAt,
        ...(result.signature != null ? { signature: result.signature } : {}),
      })
    },

    resultsOfTask(jobId, taskIndex) {
      const rows = sql('SELECT * FROM results WHERE job_id = ? AND task_index = ?').all(
        jobId,
        taskIndex,
      ) as Row[]
      return rows.map(resultFromRow)
    },

    pendingPayees() {
      const byJob = new Map<string, string[]>()
      const rows = sql(
        "SELECT account FROM balances WHERE account >= 'pending:' AND account < 'pending;' AND balance > 0",
      ).all() as Row[]
      for (const row of rows) {
        // pending:<payee>:<job id>[@<site>]; a payee (a wallet or peer:<id>) may hold colons,
        // a job id holds neither a colon nor an @. One payee per job, whatever its sites.
        const account = (row.account as string).slice('pending:'.length)
        const cut = account.lastIndexOf(':')
        const tail = account.slice(cut + 1)
        const jobId = tail.includes('@') ? tail.slice(0, tail.indexOf('@')) : tail
        const payees = byJob.get(jobId) ?? []
        const payee = account.slice(0, cut)
        if (!payees.includes(payee)) payees.push(payee)
        byJob.set(jobId, payees)
      }
      return byJob
    },

    resultByLease(leaseId) {
      const row = sql('SELECT * FROM results WHERE lease_id = ?').get(leaseId) as Row | undefined
      return row == null ? undefined : resultFromRow(row)
    },

    resultSummary(jobId, since) {
      const summary: ResultSummary = { methods: {}, acceptedSince: 0 }
      const rows = sql(
        `SELECT method, COUNT(*) AS n, MIN(accepted_at) AS first, MAX(accepted_at) AS last,
           SUM(accepted_at >= ?) AS recent
         FROM results WHERE job_id = ? GROUP BY method`,
      ).all(since, jobId) as Row[]
      for (const row of rows) {
        summary.methods[row.method as StoredResult['method']] = int(row.n)
        summary.acceptedSince += int(row.recent)
        const first = int(row.first)
        const last = int(row.last)
        if (summary.firstAcceptedAt == null || first < summary.firstAcceptedAt)
          summary.firstAcceptedAt = first
        if (summary.lastAcceptedAt == null || last > summary.lastAcceptedAt)
          summary.lastAcceptedAt = last
      }
      return summary
    },

    results(jobId, after, limit) {
      const rows = sql(
        'SELECT * FROM results WHERE job_id = ? AND seq > ? AND provisional = 0 ORDER BY seq LIMIT ?',
      ).all(jobId, after, limit) as Row[]
      return rows.map((row): TaskResultRecord => {
        const r = resultFromRow(row)
        return {
          seq: r.seq ?? 0,
          taskId: r.taskId,
          index: r.taskIndex,
          outputs: r.outputs,
          method: r.method,
          acceptedAt: r.acceptedAt,
        }
      })
    },

    getContributor(id) {
      const row = sql('SELECT * FROM contributors WHERE id = ?').get(id) as Row | undefined
      if (row == null) return undefined
      return {
        id: row.id as string,
        payee: row.payee as string,
        verified: row.verified as number,
        faults: row.faults as number,
        banned: row.banned === 1,
        lastSeen: row.last_seen as number,
      }
    },

    putContributor(c) {
      sql(
        `INSERT INTO contributors (id, payee, verified, faults, banned, last_seen) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET payee = excluded.payee, verified = excluded.verified,
           faults = excluded.faults, banned = excluded.banned, last_seen = excluded.last_seen`,
      ).run(c.id, c.payee, c.verified, c.faults, c.banned ? 1 : 0, c.lastSeen)
    },

    addBan(key, reason, at) {
      sql('INSERT INTO bans (key, reason, at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING').run(
        key,
        reason,
        at,
      )
    },

    isBanned: (key) => sql('SELECT 1 FROM bans WHERE key = ?').get(key) != null,
    countBans: () => (sql('SELECT COUNT(*) AS n FROM bans').get() as Row).n as number,

    addFault(key) {
      const row = sql(
        `INSERT INTO fault_counts (key, faults) VALUES (?, 1)
         ON CONFLICT (key) DO UPDATE SET faults = faults + 1 RETURNING faults`,
      ).get(key) as Row
      return row.faults as number
    },

    putBlob(hash, bytes) {
      const { changes } = sql(
        'INSERT INTO blobs (hash, bytes) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING',
      ).run(hash, bytes)
      return Number(changes) > 0
    },

    getBlob(hash) {
      const row = sql('SELECT bytes FROM blobs WHERE hash = ?').get(hash) as Row | undefined
      return row == null ? undefined : new Uint8Array(row.bytes as Uint8Array)
    },

    hasBlob: (hash) => sql('SELECT 1 FROM blobs WHERE hash = ?').get(hash) != null,
    blobBytes: () =>
      (sql('SELECT COALESCE(SUM(LENGTH(bytes)), 0) AS n FROM blobs').get() as Row).n as number,

    transfer(entry) {
      const { amount } = entry
      if (typeof amount !== 'bigint' || amount < 0n || amount > INT64_MAX)
        throw new RangeError(
          `ledger amounts are integers (bigint) from 0 to 2^63-1 credits, got ${String(amount)} (${typeof amount})`,
        )
      if (amount === 0n) return
      store.transaction(() => {
        // SQLite would turn a sum past its 64-bit range into a REAL, silently: checked here,
        // before anything is written.
        const debited = store.balance(entry.from) - amount
        const credited = (entry.to === entry.from ? debited : store.balance(entry.to)) + amount
        const past = debited < INT64_MIN ? entry.from : credited > INT64_MAX ? entry.to : undefined
        if (past != null)
          throw new RangeError(
            `a ${entry.kind} of ${amount} credits from ${entry.from} to ${entry.to} would take the balance of ${past} to ${past === entry.from ? debited : credited}, past the ledger's signed 64-bit range (±2^63): move less, or spread it over accounts`,
          )
        sql(
          'INSERT INTO transfers (debit, credit, amount, kind, job_id, ref, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ).run(
          entry.from,
          entry.to,
          amount,
          entry.kind,
          entry.jobId ?? null,
          entry.ref ?? null,
          entry.at,
        )
        const upsert = sql(
          `INSERT INTO balances (account, balance) VALUES (?, ?)
           ON CONFLICT (account) DO UPDATE SET balance = balance + excluded.balance`,
        )
        upsert.run(entry.from, -amount)
        upsert.run(entry.to, amount)
        // What `transferredTotal` reads: the public figures never sum the transfers table.
        if (TOTALED_KINDS.has(entry.kind))
          sql(
            `INSERT INTO transfer_totals (kind, total) VALUES (?, ?)
             ON CONFLICT (kind) DO UPDATE SET total = total + excluded.total`,
          ).run(entry.kind, amount)
      })
    },

    transferByRef(ref) {
      const row = money('SELECT * FROM transfers WHERE ref = ?').get(ref) as Row | undefined
      if (row == null) return undefined
      return {
        from: row.debit as string,
        to: row.credit as string,
        amount: row.amount as bigint,
        kind: row.kind as LedgerKind,
        ...(row.job_id != null ? { jobId: row.job_id as string } : {}),
        at: int(row.at),
        ref,
      }
    },

    balance(account) {
      const row = money('SELECT balance FROM balances WHERE account = ?').get(account) as
        | Row
        | undefined
      return (row?.balance as bigint | undefined) ?? 0n
    },

    balancesWithPrefix(prefix) {
      // A range on the primary key rather than LIKE: the prefix is peer input, and `%`/`_` in it must not match.
      const rows = money(
        'SELECT account, balance FROM balances WHERE account >= ? AND account < ? AND balance != 0',
      ).all(prefix, `${prefix}\u{10ffff}`) as Row[]
      return rows.map((row) => ({
        account: row.account as string,
        balance: row.balance as bigint,
      }))
    },

    creditedTotal(account, kinds) {
      // The kinds are spelled out in the SQL (not bound), so the partial index on earnings
      // applies. SUM of INTEGERs throws on overflow rather than rounding.
      const row = money(
        `SELECT COALESCE(SUM(amount), 0) AS total FROM transfers WHERE credit = ? AND kind IN (${kindList(kinds)})`,
      ).get(account) as Row
      return row.total as bigint
    },

    creditedTotals(kinds, prefix) {
      const rows = money(
        `SELECT credit AS account, SUM(amount) AS total FROM transfers
         WHERE kind IN (${kindList(kinds)}) AND credit >= ? AND credit < ?
         GROUP BY credit ORDER BY credit`,
      ).all(prefix, `${prefix}\u{10ffff}`) as Row[]
      return rows.map((row) => ({ account: row.account as string, total: row.total as bigint }))
    },

    ledgerImbalance() {
      // Summed here in bigint: SQLite's SUM would overflow on large balances of either sign
      // even when they cancel out.
      let sum = 0n
      for (const row of money('SELECT balance FROM balances').iterate() as Iterable<Row>)
        sum += row.balance as bigint
      return sum
    },

    transferredTotal(kinds) {
      const untracked = kinds.find((kind) => !TOTALED_KINDS.has(kind))
      if (untracked != null)
        throw new RangeError(
          `no running total is kept of ${untracked} transfers (only of ${[...TOTALED_KINDS].join(', ')}); sum them from transfers`,
        )
      const row = money(
        `SELECT COALESCE(SUM(total), 0) AS total FROM transfer_totals WHERE kind IN (${kindList(kinds)})`,
      ).get() as Row
      return row.total as bigint
    },

    addCompute(hour, gflop, tasks) {
      if (depth === 0) store.transaction(() => addTo(unitCompute, hour, gflop, tasks))
      else addTo(unitCompute, hour, gflop, tasks)
    },

    computeHours(from, to) {
      // What the open group counted so far is read too (this connection sees its own writes).
      if (depth === 0) writeGroupCompute()
      const rows = sql(
        'SELECT hour, gflop, tasks FROM compute_hours WHERE hour >= ? AND hour <= ? ORDER BY hour',
      ).all(from, to) as Row[]
      return rows.map((row) => ({
        hour: int(row.hour),
        gflop: row.gflop as number,
        tasks: int(row.tasks),
      }))
    },

    computeTotal() {
      if (depth === 0) writeGroupCompute()
      const row = sql(
        'SELECT COALESCE(SUM(gflop), 0) AS gflop, COALESCE(SUM(tasks), 0) AS tasks FROM compute_hours',
      ).get() as Row
      return { gflop: row.gflop as number, tasks: int(row.tasks) }
    },

    nonceUsed: (key) => sql('SELECT 1 FROM used_nonces WHERE key = ?').get(key) != null,

    claimNonce(key, expiresAt) {
      return store.transaction(() => {
        const { changes } = sql(
          'INSERT INTO used_nonces (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING',
        ).run(key, expiresAt)
        return Number(changes) > 0
      })
    },

    pruneNonces(at) {
      return store.transaction(() =>
        Number(sql('DELETE FROM used_nonces WHERE expires_at <= ?').run(at).changes),
      )
    },

    countNonces: () => (sql('SELECT COUNT(*) AS n FROM used_nonces').get() as Row).n as number,

    insertSession(session) {
      store.transaction(() => {
        sql(
          'INSERT INTO wallet_sessions (token_sha256, account, created_at, expires_at) VALUES (?, ?, ?, ?)',
        ).run(session.tokenSha256, session.account, session.createdAt, session.expiresAt)
      })
    },

    sessionByToken(tokenSha256) {
      const row = sql('SELECT * FROM wallet_sessions WHERE token_sha256 = ?').get(tokenSha256) as
        | Row
        | undefined
      return row == null ? undefined : sessionFromRow(row)
    },

    deleteSession(tokenSha256) {
      return store.transaction(
        () =>
          Number(
            sql('DELETE FROM wallet_sessions WHERE token_sha256 = ?').run(tokenSha256).changes,
          ) > 0,
      )
    },

    liveSessions(account, at) {
      const rows = sql(
        'SELECT * FROM wallet_sessions WHERE account = ? AND expires_at > ? ORDER BY created_at, token_sha256',
      ).all(account, at) as Row[]
      return rows.map(sessionFromRow)
    },

    pruneSessions(at) {
      return store.transaction(() =>
        Number(sql('DELETE FROM wallet_sessions WHERE expires_at <= ?').run(at).changes),
      )
    },

    insertEpoch(epoch) {
      store.transaction(() => {
        const latest = sql('SELECT COALESCE(MAX(epoch), 0) AS n FROM epochs').get() as Row
        if (epoch.epoch !== (latest.n as number) + 1)
          throw new RangeError(
            `epoch ${epoch.epoch} is not the next one: the store's latest is ${latest.n as number}`,
          )
        sql(
          `INSERT INTO epochs (epoch, root, cumulative_total, leaves, tree, state, closed_at)
           VALUES (?, ?, ?, ?, ?, 'built', ?)`,
        ).run(
          epoch.epoch,
          epoch.root,
          epoch.cumulativeTotal.toString(),
          epoch.leaves,
          epoch.tree,
          epoch.closedAt,
        )
      })
    },

    markEpochSent(epoch, tx, at) {
      store.transaction(() => {
        sql(
          "UPDATE epochs SET state = 'sent', raw_tx = ?, tx_hash = ?, sent_at = ? WHERE epoch = ?",
        ).run(tx.raw, tx.hash, at, epoch)
      })
    },

    markEpochBuilt(epoch) {
      store.transaction(() => {
        sql(
          "UPDATE epochs SET state = 'built', raw_tx = NULL, tx_hash = NULL, sent_at = NULL WHERE epoch = ?",
        ).run(epoch)
      })
    },

    markEpochConfirmed(epoch, at) {
      store.transaction(() => {
        sql("UPDATE epochs SET state = 'confirmed', confirmed_at = ? WHERE epoch = ?").run(
          at,
          epoch,
        )
      })
    },

    getEpoch(epoch) {
      const row = sql('SELECT * FROM epochs WHERE epoch = ?').get(epoch) as Row | undefined
      return row == null ? undefined : epochFromRow(row)
    },

    latestEpoch() {
      const row = sql('SELECT * FROM epochs ORDER BY epoch DESC LIMIT 1').get() as Row | undefined
      return row == null ? undefined : epochFromRow(row)
    },

    latestConfirmedEpoch() {
      const row = sql(
        "SELECT * FROM epochs WHERE state = 'confirmed' ORDER BY epoch DESC LIMIT 1",
      ).get() as Row | undefined
      return row == null ? undefined : epochFromRow(row)
    },

    listEpochs({ limit, before }) {
      const rows = sql(
        `SELECT epoch, root, cumulative_total, leaves, state, raw_tx, tx_hash, closed_at, sent_at, confirmed_at
         FROM epochs WHERE (?1 IS NULL OR epoch < ?1) ORDER BY epoch DESC LIMIT ?2`,
      ).all(before ?? null, limit) as Row[]
      return rows.map(epochSummaryFromRow)
    },

    restoreJob({ job, results, balances, transfers }) {
      store.transaction(() => {
        sql('DELETE FROM results WHERE job_id = ?').run(job.id)
        sql('DELETE FROM transfers WHERE job_id = ?').run(job.id)
        const transfer = sql(
          'INSERT INTO transfers (debit, credit, amount, kind, job_id, ref, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        for (const t of transfers)
          transfer.run(t.from, t.to, t.amount, t.kind, t.jobId ?? job.id, t.ref ?? null, t.at)
        sql('DELETE FROM jobs WHERE id = ?').run(job.id)
        store.insertJob({ ...job })
        for (const [key, column] of Object.entries(JOB_COLUMNS) as Array<[keyof JobPatch, string]>)
          if (job[key] != null)
            sql(`UPDATE jobs SET ${column} = ? WHERE id = ?`).run(job[key], job.id)
        const insert = sql(
          `INSERT INTO results (seq, job_id, task_index, task_id, lease_id, payee, peer_id, outputs, method, accepted_at, provisional, signature)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        for (const r of results)
          insert.run(
            r.seq ?? null,
            r.jobId,
            r.taskIndex,
            r.taskId,
            r.leaseId,
            r.payee,
            r.peerId,
            JSON.stringify(r.outputs),
            r.method,
            r.acceptedAt,
            r.provisional === true ? 1 : 0,
            r.signature ?? null,
          )
        for (const { account, balance } of balances) store.setBalance(account, balance)
      })
    },

    setBalance(account, balance) {
      sql(
        `INSERT INTO balances (account, balance) VALUES (?, ?)
         ON CONFLICT (account) DO UPDATE SET balance = excluded.balance`,
      ).run(account, balance)
    },

    setNextResultSeq(seq) {
      // AUTOINCREMENT hands out one more than the largest seq it recorded.
      store.transaction(() => {
        const { changes } = sql("UPDATE sqlite_sequence SET seq = ? WHERE name = 'results'").run(
          seq - 1,
        )
        if (Number(changes) === 0)
          sql("INSERT INTO sqlite_sequence (name, seq) VALUES ('results', ?)").run(seq - 1)
      })
    },

    close() {
      if (!db.isOpen) return
      if (depth === 0) commit()
      db.close()
    },
  }
  return store
}

export type { LedgerEntry }
