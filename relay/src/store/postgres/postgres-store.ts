import { createHash } from 'node:crypto'
import type { JobStatus, TaskResultRecord } from '@tabswarm/protocol'
import pg from 'pg'
import { parsePendingAccount } from '../../ledger/ledger.ts'
import type { EpochStore } from '../../settlement/epoch-store.ts'
import type {
  ComputeHourRow,
  CoordinatorStore,
  JobPatch,
  LedgerEntry,
  LedgerKind,
  ResultSummary,
  StoredContributor,
  StoredJob,
  StoredResult,
} from '../coordinator-store.ts'
import { TOTALED_KINDS } from '../sqlite-store.ts'
import type { JournalEntry } from '../store-journal.ts'
import type { UsedNonces } from '../used-nonces.ts'
import type { WalletSessionStore } from '../wallet-session-store.ts'
import { BulkStatement } from './postgres-bulk-statement.ts'
import { withTransaction } from './postgres-pool.ts'
import { type PostgresCallOptions, runStatement } from './postgres-query.ts'

export type { PostgresCallOptions } from './postgres-query.ts'

/** The operations of `CoordinatorStore` a `PostgresStore` has: all but units of work and the nonce, epoch and session parts. */
export type PostgresCoreOp = Exclude<
  keyof CoordinatorStore,
  | 'transaction'
  | 'flushed'
  | 'flush'
  | 'close'
  | keyof UsedNonces
  | keyof EpochStore
  | keyof WalletSessionStore
>

/** Each core operation, as on `CoordinatorStore`, made async and placed by a last `options` argument. */
export type PostgresCoreOps = {
  [K in PostgresCoreOp]: CoordinatorStore[K] extends (...args: infer A) => infer R
    ? (...args: [...A, options?: PostgresCallOptions]) => Promise<R>
    : never
}

/** Journal entries this store applies itself; the others go to `auxiliary`. */
export type CoreJournalEntry = Extract<JournalEntry, { op: PostgresCoreOp }>

/**
 * Everything a coordinator needs to take a running job over from another (see
 * `relay/src/cluster/job-ownership.ts`), read in one REPEATABLE READ transaction, so the
 * parts agree with each other.
 */
/** What applying a journal left behind that its caller may check before committing. */
export interface JournalApplied {
  /** Every account the journal's transfers moved, with its balance after them. */
  balances: ReadonlyMap<string, bigint>
}

export interface JobSnapshot {
  job: StoredJob
  /** Every accepted result of the job, provisional ones too, with its `seq`, in `seq` order. */
  results: StoredResult[]
  /**
   * The balances of the job's ledger accounts: `escrow:<id>` and every
   * `pending:<payee>:<id>[@<site>]` (zero ones included), in account order.
   */
  balances: Array<{ account: string; balance: bigint }>
  /**
   * The job's transfers, in order: an undone acceptance takes back its payment by looking
   * up the transfer under the payment's ref (`ledger.unpay`), so the new owner needs them.
   */
  transfers: LedgerEntry[]
  /** The blobs the job's spec names (`blob` fields) that are held in the blobs table. */
  blobs: Array<{ hash: string; bytes: Uint8Array }>
  /** The contributor rows of the peers that produced its results. */
  contributors: StoredContributor[]
}

export interface PostgresStoreOptions {
  /**
   * Writes the journal entries of the nonce, session and epoch operations (another table
   * set, migration 2), on the caller's transaction. Without it, `applyJournal` refuses them.
   */
  auxiliary?: (client: pg.ClientBase, entry: JournalEntry) => Promise<void>
}

/**
 * The async counterpart of `CoordinatorStore`'s core operations on a shared PostgreSQL
 * (tables of migration 1, `migrations/core-tables.ts`), with the same semantics and
 * reads as the embedded store (`sqlite-store.ts`).
 */
export interface PostgresStore extends PostgresCoreOps {
  /**
   * Applies a coordinator's journal (`store-journal.ts`) in order on `client`: the caller
   * holds the transaction and has fenced every job it touches. `insertResult` and
   * `confirmResult` store the `seq` the in-memory store gave (`entry.result`); `updateJob`
   * patches are absolute (the job's one owner wrote them); `transfer` moves balances by
   * deltas, so coordinators moving credits of one account concurrently never lose an
   * update. Compute per hour is summed and written once per hour.
   */
  applyJournal(client: pg.ClientBase, entries: readonly JournalEntry[]): Promise<JournalApplied>
  /** A running (or ended) job's durable state, to take it over; undefined if no such job. */
  jobSnapshot(jobId: string, signal?: AbortSignal): Promise<JobSnapshot | undefined>
  /** Ends the pool's connections. */
  close(): Promise<void>
}

type Row = Record<string, unknown>

const INT64_MAX = 2n ** 63n - 1n
const INT8_OID = 20
const NUMERIC_OID = 1700

/**
 * Type parsers of this store's queries: `BIGINT` (and the `NUMERIC` of `SUM(bigint)`) read
 * as exact `bigint`, never through a JS number; the rest as pg's defaults. Per query, so a
 * pool shared with other code keeps its own parsers.
 */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    // A NUMERIC here is only ever a SUM of BIGINTs, an integer: BigInt throws on anything else.
    if (oid === INT8_OID || oid === NUMERIC_OID) return (text: string) => BigInt(text)
    return pg.types.getTypeParser(oid, format ?? 'text')
  },
} as pg.CustomTypesConfig

/** A BIGINT that holds a count or a millisecond time, as a number. */
const num = (value: unknown): number => Number(value)

/** The PostgreSQL type of each patchable column, for the arrays a batch of patches binds. */
const JOB_COLUMN_TYPES: Record<keyof JobPatch, string> = {
  status: 'text',
  acceptedTasks: 'int',
  rejectedResults: 'int',
  spent: 'bigint',
  refunded: 'bigint',
  finishedAt: 'bigint',
  error: 'text',
  firstLeaseAt: 'bigint',
  canariesAccepted: 'int',
  closedTasks: 'int',
}

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

const LEDGER_KINDS: ReadonlySet<LedgerKind> = new Set<LedgerKind>([
  'grant',
  'escrow',
  'pay',
  'payout',
  'site-share',
  'forfeit',
  'refund',
  'canary',
])

function checkKinds(kinds: readonly LedgerKind[]): LedgerKind[] {
  for (const kind of kinds)
    if (!LEDGER_KINDS.has(kind))
      throw new RangeError(
        `${JSON.stringify(kind)} is not a ledger kind (${[...LEDGER_KINDS].join(', ')})`,
      )
  return [...kinds]
}

function jobFromRow(row: Row): StoredJob {
  const job: StoredJob = {
    id: row.id as string,
    seq: num(row.seq),
    owner: row.owner as string,
    spec: JSON.parse(row.spec as string),
    kernel: row.kernel as StoredJob['kernel'],
    status: row.status as JobStatus,
    priority: row.priority as number,
    totalTasks: row.total_tasks as number,
    acceptedTasks: row.accepted_tasks as number,
    rejectedResults: row.rejected_results as number,
    taskCredits: row.task_credits as bigint,
    budget: row.budget as bigint,
    spent: row.spent as bigint,
    refunded: row.refunded as bigint,
    createdAt: num(row.created_at),
  }
  if (row.deadline != null) job.deadline = num(row.deadline)
  if (row.tile_rows != null) job.tileRows = row.tile_rows as number
  if (row.tile_cols != null) job.tileCols = row.tile_cols as number
  if (row.finished_at != null) job.finishedAt = num(row.finished_at)
  if (row.error != null) job.error = row.error as string
  if (row.first_lease_at != null) job.firstLeaseAt = num(row.first_lease_at)
  if ((row.canaries_accepted as number) > 0) job.canariesAccepted = row.canaries_accepted as number
  if ((row.closed_tasks as number) > 0) job.closedTasks = row.closed_tasks as number
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
    acceptedAt: num(row.accepted_at),
    seq: num(row.seq),
    ...(row.provisional === true ? { provisional: true as const } : {}),
    ...(typeof row.signature === 'string' ? { signature: row.signature } : {}),
  }
}

function contributorFromRow(row: Row): StoredContributor {
  return {
    id: row.id as string,
    payee: row.payee as string,
    verified: row.verified as number,
    faults: row.faults as number,
    banned: row.banned === true,
    lastSeen: num(row.last_seen),
  }
}

function transferFromRow(row: Row): LedgerEntry {
  return {
    from: row.debit as string,
    to: row.credit as string,
    amount: row.amount as bigint,
    kind: row.kind as LedgerKind,
    ...(row.job_id != null ? { jobId: row.job_id as string } : {}),
    at: num(row.at),
    ...(row.ref != null ? { ref: row.ref as string } : {}),
  }
}

/** Every `blob` hash a job spec names, wherever it sits (inputs, weights, parameters). */
function blobsNamed(spec: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(spec)) for (const item of spec) blobsNamed(item, into)
  else if (spec != null && typeof spec === 'object')
    for (const [key, value] of Object.entries(spec)) {
      if (key === 'blob' && typeof value === 'string' && /^[0-9a-f]{64}$/.test(value))
        into.add(value)
      else blobsNamed(value, into)
    }
  return into
}

/**
 * How many shapes of journal statement (which parts a batch has) are kept prepared on
 * each connection; past that, a new shape runs unnamed. A cluster's batches come in a
 * handful of shapes; the bound only guards the server's memory against a pathological mix.
 */
const MAX_PREPARED = 64

/** PostgreSQL's `numeric_value_out_of_range`: a BIGINT sum (or a delta given) past ±2^63. */
const OUT_OF_RANGE = '22003'

const INSERT_JOB = `INSERT INTO jobs (seq, id, owner, spec, kernel, status, priority, deadline, tile_rows,
    tile_cols, total_tasks, accepted_tasks, rejected_results, task_credits, budget, spent, refunded,
    created_at, finished_at, error, first_lease_at, canaries_accepted, closed_tasks)
  VALUES (COALESCE($1, nextval(pg_get_serial_sequence('jobs', 'seq'))), $2, $3, $4, $5, $6, $7, $8,
    $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
  RETURNING seq`

/**
 * The seq of a result written directly (not from a journal): past every seq in the table,
 * and the sequence moved on to it. A journal writes the seqs its coordinator numbered
 * (from blocks, in a cluster) and leaves the sequence alone, which saves it a round trip
 * per batch; so the sequence alone may lag them, and the largest seq (an index lookup)
 * decides. Direct writes of results are the single store's path (tests, tools), not a
 * cluster's: two at once may still pick the same seq, and one then fails on the UNIQUE.
 */
const NEXT_RESULT_SEQ = `SELECT setval('results_seq', GREATEST(nextval('results_seq'),
    COALESCE((SELECT max(seq) FROM results), 0) + 1))`

const INSERT_RESULT = `INSERT INTO results (seq, job_id, task_index, task_id, lease_id, payee, peer_id,
    outputs, method, accepted_at, provisional, signature)
  VALUES (COALESCE($1, (${NEXT_RESULT_SEQ})), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
  RETURNING seq`

const UPSERT_BALANCE = `INSERT INTO balances (account, balance) VALUES ($1, $2)
  ON CONFLICT (account) DO UPDATE SET balance = balances.balance + excluded.balance`

export function createPostgresStore(
  pool: pg.Pool,
  options: PostgresStoreOptions = {},
): PostgresStore {
  let closed = false
  /** The journal shapes run as named statements so far (at most `MAX_PREPARED`). */
  const preparedNames = new Set<string>()

  /** One statement, on the caller's client or on the pool (aborting by destroying its connection). */
  async function query(
    text: string,
    values: readonly unknown[],
    call: PostgresCallOptions | undefined,
    prepared = false,
  ): Promise<pg.QueryResult<Row>> {
    call?.signal?.throwIfAborted()
    if (closed && call?.client == null)
      throw new Error('the PostgreSQL store is closed: open a new one with createPostgresStore')
    const config: pg.QueryConfig & { types: pg.CustomTypesConfig } = {
      text,
      values: values as unknown[],
      types: TYPES,
    }
    if (prepared) {
      // Named by its text: each connection parses it once, then only binds it. Bounded: a
      // server keeps every statement a connection prepared until it closes.
      const name = `tabswarm_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`
      if (preparedNames.has(name) || preparedNames.size < MAX_PREPARED) {
        preparedNames.add(name)
        config.name = name
      }
    }
    return runStatement<Row>(call?.client ?? pool, config, call?.signal)
  }

  /** A write of several statements: on the caller's client as is, else in a transaction of its own. */
  async function write<T>(
    call: PostgresCallOptions | undefined,
    fn: (client: pg.ClientBase) => Promise<T>,
  ): Promise<T> {
    call?.signal?.throwIfAborted()
    if (call?.client != null) return fn(call.client)
    return withTransaction(pool, fn, call?.signal != null ? { signal: call.signal } : {})
  }

  async function insertJobRow(client: pg.ClientBase, job: StoredJob, seq: number | null) {
    const { rows } = await query(
      INSERT_JOB,
      [
        seq,
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
        job.closedTasks ?? 0,
      ],
      { client },
    )
    return num(rows[0]?.seq)
  }

  async function updateJobRow(
    client: pg.ClientBase | undefined,
    id: string,
    patch: JobPatch,
    call?: PostgresCallOptions,
  ) {
    // Column names come from the fixed map, never from the caller.
    const keys = (Object.keys(patch) as Array<keyof JobPatch>).filter((k) => k in JOB_COLUMNS)
    if (keys.length === 0) return
    const assignments = keys.map((k, i) => `${JOB_COLUMNS[k]} = $${i + 1}`).join(', ')
    await query(
      `UPDATE jobs SET ${assignments} WHERE id = $${keys.length + 1}`,
      [...keys.map((k) => patch[k] ?? null), id],
      client != null ? { client } : call,
    )
  }

  async function insertResultRow(client: pg.ClientBase, result: StoredResult, seq: number | null) {
    const { rows } = await query(
      INSERT_RESULT,
      [
        seq,
        result.jobId,
        result.taskIndex,
        result.taskId,
        result.leaseId,
        result.payee,
        result.peerId,
        JSON.stringify(result.outputs),
        result.method,
        result.acceptedAt,
        result.provisional === true,
        result.signature ?? null,
      ],
      { client },
    )
    return num(rows[0]?.seq)
  }

  /** Deletes a provisional result and writes it again, published, under `seq` (or the next). */
  async function confirmResultRow(
    client: pg.ClientBase,
    jobId: string,
    taskIndex: number,
    seq: number | null,
  ): Promise<number | undefined> {
    const { rows } = await query(
      'DELETE FROM results WHERE job_id = $1 AND task_index = $2 AND provisional RETURNING *',
      [jobId, taskIndex],
      { client },
    )
    const row = rows[0]
    if (row == null) return undefined
    const { provisional: _, seq: __, ...published } = resultFromRow(row)
    return insertResultRow(client, published, seq)
  }

  function checkAmount(amount: bigint): void {
    if (typeof amount !== 'bigint' || amount < 0n || amount > INT64_MAX)
      throw new RangeError(
        `ledger amounts are integers (bigint) from 0 to 2^63-1 credits, got ${String(amount)} (${typeof amount})`,
      )
  }

  /** The transfer's rows on `client`: the record, both balances by delta, the running total. */
  async function transferRows(client: pg.ClientBase, entry: LedgerEntry): Promise<void> {
    await query(
      'INSERT INTO transfers (debit, credit, amount, kind, job_id, ref, at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [
        entry.from,
        entry.to,
        entry.amount,
        entry.kind,
        entry.jobId ?? null,
        entry.ref ?? null,
        entry.at,
      ],
      { client },
    )
    // Rows locked in account order, as `transferParts` does: never a deadlock between them.
    const moves: Array<[string, bigint]> = [
      [entry.from, -entry.amount],
      [entry.to, entry.amount],
    ]
    if (entry.to < entry.from) moves.reverse()
    for (const [account, delta] of moves) await query(UPSERT_BALANCE, [account, delta], { client })
    // What `transferredTotal` reads: the public figures never sum the transfers table.
    if (TOTALED_KINDS.has(entry.kind))
      await query(
        `INSERT INTO transfer_totals (kind, total) VALUES ($1, $2)
         ON CONFLICT (kind) DO UPDATE SET total = transfer_totals.total + excluded.total`,
        [entry.kind, entry.amount],
        { client },
      )
  }

  function rangeErrorOf(err: unknown, entry: LedgerEntry): unknown {
    if ((err as { code?: string }).code !== OUT_OF_RANGE) return err
    return new RangeError(
      `a ${entry.kind} of ${entry.amount} credits from ${entry.from} to ${entry.to} would take a balance past the ledger's signed 64-bit range (±2^63): move less, or spread it over accounts`,
      { cause: err },
    )
  }

  async function addComputeRow(
    client: pg.ClientBase | undefined,
    hour: number,
    gflop: number,
    tasks: number,
    call?: PostgresCallOptions,
  ) {
    await query(
      `INSERT INTO compute_hours (hour, gflop, tasks) VALUES ($1, $2, $3)
       ON CONFLICT (hour) DO UPDATE SET gflop = compute_hours.gflop + excluded.gflop,
         tasks = compute_hours.tasks + excluded.tasks`,
      [hour, gflop, tasks],
      client != null ? { client } : call,
    )
  }

  /** Results as one multi-row insert, each under the seq the journal gave it: a CTE of `into`. */
  function resultRowsPart(
    into: BulkStatement,
    name: string,
    rows: ReadonlyArray<{ result: StoredResult; seq: number }>,
  ): void {
    const column = <T>(pick: (r: StoredResult) => T) => rows.map(({ result }) => pick(result))
    into.add(
      name,
      `INSERT INTO results (seq, job_id, task_index, task_id, lease_id, payee, peer_id, outputs,
         method, accepted_at, provisional, signature)
       SELECT * FROM unnest(${into.param(
         rows.map(({ seq }) => seq),
         'bigint[]',
       )}, ${into.param(
         column((r) => r.jobId),
         'text[]',
       )}, ${into.param(
         column((r) => r.taskIndex),
         'int[]',
       )}, ${into.param(
         column((r) => r.taskId),
         'text[]',
       )}, ${into.param(
         column((r) => r.leaseId),
         'text[]',
       )}, ${into.param(
         column((r) => r.payee),
         'text[]',
       )}, ${into.param(
         column((r) => r.peerId),
         'text[]',
       )}, ${into.param(
         column((r) => JSON.stringify(r.outputs)),
         'text[]',
       )}, ${into.param(
         column((r) => r.method),
         'text[]',
       )}, ${into.param(
         column((r) => r.acceptedAt),
         'bigint[]',
       )}, ${into.param(
         column((r) => r.provisional === true),
         'boolean[]',
       )}, ${into.param(
         column((r) => r.signature ?? null),
         'text[]',
       )})`,
    )
  }

  /** Results in one multi-row insert of their own (before a delete or confirm that may touch one). */
  async function insertResultRows(
    client: pg.ClientBase,
    rows: ReadonlyArray<{ result: StoredResult; seq: number }>,
  ): Promise<void> {
    const statement = new BulkStatement()
    resultRowsPart(statement, 'r', rows)
    await query(statement.text('SELECT 1'), statement.values, { client })
  }

  /**
   * Job patches as CTEs of `into`, one `UPDATE … FROM unnest(…)` per set of columns
   * patched (each job's patches merged first: every job is in one of them, once).
   */
  function jobPatchParts(into: BulkStatement, patches: ReadonlyMap<string, JobPatch>): void {
    const bySignature = new Map<string, Array<[string, JobPatch]>>()
    for (const [id, patch] of patches) {
      const keys = (Object.keys(patch) as Array<keyof JobPatch>).filter((k) => k in JOB_COLUMNS)
      if (keys.length === 0) continue
      const signature = keys.sort().join(',')
      const group = bySignature.get(signature)
      if (group == null) bySignature.set(signature, [[id, patch]])
      else group.push([id, patch])
    }
    let n = 0
    // In a fixed order, so that batches of the same kinds of change make the same statement.
    for (const [signature, group] of [...bySignature].sort(([a], [b]) => (a < b ? -1 : 1))) {
      // Column names and types come from the fixed maps, never from the caller.
      const keys = signature.split(',') as Array<keyof JobPatch>
      const columns = keys.map((k) => JOB_COLUMNS[k])
      const arrays = keys.map((k) =>
        into.param(
          group.map(([, patch]) => {
            const value = patch[k]
            return typeof value === 'bigint' ? value.toString() : (value ?? null)
          }),
          `${JOB_COLUMN_TYPES[k]}[]`,
        ),
      )
      into.add(
        `job_patch_${n++}`,
        `UPDATE jobs SET ${columns.map((c) => `${c} = u.${c}`).join(', ')}
         FROM unnest(${into.param(
           group.map(([id]) => id),
           'text[]',
         )}, ${arrays.join(', ')}) AS u(id, ${columns.join(', ')})
         WHERE jobs.id = u.id`,
      )
    }
  }

  /**
   * Many transfers as CTEs of `into`: their rows in order, each account's balance moved by
   * the sum of its deltas (deltas commute, so the order of the moves within the group does
   * not matter to the balances), and the running totals by kind. The balances part returns
   * each moved account's balance after the move, as `balances`.
   */
  function transferParts(into: BulkStatement, entries: readonly LedgerEntry[]): void {
    const deltas = new Map<string, bigint>()
    const totals = new Map<LedgerKind, bigint>()
    for (const entry of entries) {
      deltas.set(entry.from, (deltas.get(entry.from) ?? 0n) - entry.amount)
      deltas.set(entry.to, (deltas.get(entry.to) ?? 0n) + entry.amount)
      if (TOTALED_KINDS.has(entry.kind))
        totals.set(entry.kind, (totals.get(entry.kind) ?? 0n) + entry.amount)
    }
    into.add(
      'transfer_rows',
      `INSERT INTO transfers (debit, credit, amount, kind, job_id, ref, at)
       SELECT debit, credit, amount, kind, job_id, ref, at
       FROM unnest(${into.param(
         entries.map((e) => e.from),
         'text[]',
       )}, ${into.param(
         entries.map((e) => e.to),
         'text[]',
       )}, ${into.param(
         entries.map((e) => e.amount.toString()),
         'bigint[]',
       )}, ${into.param(
         entries.map((e) => e.kind),
         'text[]',
       )}, ${into.param(
         entries.map((e) => e.jobId ?? null),
         'text[]',
       )}, ${into.param(
         entries.map((e) => e.ref ?? null),
         'text[]',
       )}, ${into.param(
         entries.map((e) => e.at),
         'bigint[]',
       )}) WITH ORDINALITY AS t (debit, credit, amount, kind, job_id, ref, at, n)
       ORDER BY n`,
    )
    // Accounts in a fixed (sorted) order: two coordinators moving credits of the same
    // accounts lock their rows in the same order, so they wait for each other instead of
    // deadlocking.
    const accounts = [...deltas.keys()].sort()
    into.add(
      'balances_moved',
      `INSERT INTO balances (account, balance)
       SELECT * FROM unnest(${into.param(accounts, 'text[]')}, ${into.param(
         accounts.map((a) => (deltas.get(a) as bigint).toString()),
         'bigint[]',
       )})
       ON CONFLICT (account) DO UPDATE SET balance = balances.balance + excluded.balance
       RETURNING account, balance`,
    )
    if (totals.size > 0)
      into.add(
        'totals_moved',
        `INSERT INTO transfer_totals (kind, total)
         SELECT * FROM unnest(${into.param([...totals.keys()], 'text[]')}, ${into.param(
           [...totals.values()].map(String),
           'bigint[]',
         )})
         ON CONFLICT (kind) DO UPDATE SET total = transfer_totals.total + excluded.total`,
      )
  }

  const store: PostgresStore = {
    async insertJob(job, call) {
      job.seq = await write(call, (client) => insertJobRow(client, job, null))
    },

    async updateJob(id, patch, call) {
      await updateJobRow(undefined, id, patch, call)
    },

    async getJob(id, call) {
      const { rows } = await query('SELECT * FROM jobs WHERE id = $1', [id], call)
      return rows[0] == null ? undefined : jobFromRow(rows[0])
    },

    async listJobs({ owner, status, idPrefix, limit, before }, call) {
      // The prefix is compared as a string (`left`), not as a LIKE pattern: `_` is a job id
      // character and a LIKE wildcard.
      const { rows } = await query(
        `SELECT * FROM jobs
         WHERE ($1::text IS NULL OR owner = $1) AND ($2::text IS NULL OR status = $2)
           AND ($3::bigint IS NULL OR seq < $3)
           AND ($5::text IS NULL OR left(id, length($5)) = $5)
         ORDER BY seq DESC LIMIT $4`,
        [owner ?? null, status ?? null, before ?? null, limit, idPrefix ?? null],
        call,
      )
      return rows.map(jobFromRow)
    },

    async runningJobs(call) {
      const { rows } = await query(
        "SELECT * FROM jobs WHERE status = 'running' ORDER BY seq",
        [],
        call,
      )
      return rows.map(jobFromRow)
    },

    async countJobsByStatus(call) {
      const counts: Record<JobStatus, number> = {
        running: 0,
        completed: 0,
        failed: 0,
        cancelled: 0,
      }
      const { rows } = await query(
        'SELECT status, COUNT(*) AS n FROM jobs GROUP BY status',
        [],
        call,
      )
      for (const row of rows) counts[row.status as JobStatus] = num(row.n)
      return counts
    },

    async acceptedTasks(jobId, call) {
      const { rows } = await query(
        'SELECT task_index FROM results WHERE job_id = $1',
        [jobId],
        call,
      )
      return rows.map((row) => row.task_index as number)
    },

    async insertResult(result, call) {
      return write(call, (client) => insertResultRow(client, result, null))
    },

    async resultsOfTask(jobId, taskIndex, call) {
      const { rows } = await query(
        'SELECT * FROM results WHERE job_id = $1 AND task_index = $2',
        [jobId, taskIndex],
        call,
      )
      return rows.map(resultFromRow)
    },

    async provisionalResults(jobId, call) {
      const { rows } = await query(
        'SELECT * FROM results WHERE job_id = $1 AND provisional ORDER BY seq',
        [jobId],
        call,
      )
      return rows.map(resultFromRow)
    },

    async deleteResult(jobId, taskIndex, call) {
      const { rowCount } = await query(
        'DELETE FROM results WHERE job_id = $1 AND task_index = $2',
        [jobId, taskIndex],
        call,
      )
      return (rowCount ?? 0) > 0
    },

    async confirmResult(jobId, taskIndex, call) {
      return write(call, (client) => confirmResultRow(client, jobId, taskIndex, null))
    },

    async pendingPayees(call) {
      const byJob = new Map<string, string[]>()
      const { rows } = await query(
        "SELECT account FROM balances WHERE account >= 'pending:' AND account < 'pending;' AND balance > 0 ORDER BY account",
        [],
        call,
      )
      for (const row of rows) {
        const parts = parsePendingAccount(row.account as string)
        if (parts == null) continue
        const payees = byJob.get(parts.jobId) ?? []
        if (!payees.includes(parts.payee)) payees.push(parts.payee)
        byJob.set(parts.jobId, payees)
      }
      return byJob
    },

    async resultByLease(leaseId, call) {
      const { rows } = await query('SELECT * FROM results WHERE lease_id = $1', [leaseId], call)
      return rows[0] == null ? undefined : resultFromRow(rows[0])
    },

    async resultSummary(jobId, since, call) {
      const summary: ResultSummary = { methods: {}, acceptedSince: 0 }
      const { rows } = await query(
        `SELECT method, COUNT(*) AS n, MIN(accepted_at) AS first, MAX(accepted_at) AS last,
           COUNT(*) FILTER (WHERE accepted_at >= $1) AS recent
         FROM results WHERE job_id = $2 GROUP BY method`,
        [since, jobId],
        call,
      )
      for (const row of rows) {
        summary.methods[row.method as StoredResult['method']] = num(row.n)
        summary.acceptedSince += num(row.recent)
        const first = num(row.first)
        const last = num(row.last)
        if (summary.firstAcceptedAt == null || first < summary.firstAcceptedAt)
          summary.firstAcceptedAt = first
        if (summary.lastAcceptedAt == null || last > summary.lastAcceptedAt)
          summary.lastAcceptedAt = last
      }
      return summary
    },

    async results(jobId, after, limit, call) {
      const { rows } = await query(
        'SELECT * FROM results WHERE job_id = $1 AND seq > $2 AND NOT provisional ORDER BY seq LIMIT $3',
        [jobId, after, limit],
        call,
      )
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

    async getContributor(id, call) {
      const { rows } = await query('SELECT * FROM contributors WHERE id = $1', [id], call)
      return rows[0] == null ? undefined : contributorFromRow(rows[0])
    },

    async putContributor(c, call) {
      await query(
        `INSERT INTO contributors (id, payee, verified, faults, banned, last_seen) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET payee = excluded.payee, verified = excluded.verified,
           faults = excluded.faults, banned = excluded.banned, last_seen = excluded.last_seen`,
        [c.id, c.payee, c.verified, c.faults, c.banned, c.lastSeen],
        call,
      )
    },

    async addBan(key, reason, at, call) {
      await query(
        'INSERT INTO bans (key, reason, at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING',
        [key, reason, at],
        call,
      )
    },

    async isBanned(key, call) {
      const { rows } = await query('SELECT 1 FROM bans WHERE key = $1', [key], call)
      return rows.length > 0
    },

    async countBans(call) {
      const { rows } = await query('SELECT COUNT(*) AS n FROM bans', [], call)
      return num(rows[0]?.n)
    },

    async addFault(key, call) {
      const { rows } = await query(
        `INSERT INTO fault_counts (key, faults) VALUES ($1, 1)
         ON CONFLICT (key) DO UPDATE SET faults = fault_counts.faults + 1 RETURNING faults`,
        [key],
        call,
      )
      return rows[0]?.faults as number
    },

    async putBlob(hash, bytes, call) {
      const { rowCount } = await query(
        'INSERT INTO blobs (hash, bytes) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING',
        [hash, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)],
        call,
      )
      return (rowCount ?? 0) > 0
    },

    async getBlob(hash, call) {
      const { rows } = await query('SELECT bytes FROM blobs WHERE hash = $1', [hash], call)
      return rows[0] == null ? undefined : new Uint8Array(rows[0].bytes as Buffer)
    },

    async hasBlob(hash, call) {
      const { rows } = await query('SELECT 1 FROM blobs WHERE hash = $1', [hash], call)
      return rows.length > 0
    },

    async blobBytes(call) {
      const { rows } = await query(
        'SELECT COALESCE(SUM(octet_length(bytes)), 0) AS n FROM blobs',
        [],
        call,
      )
      return num(rows[0]?.n)
    },

    async transfer(entry, call) {
      checkAmount(entry.amount)
      if (entry.amount === 0n) return
      // Inside a caller's transaction a refused transfer must leave the rest of it usable
      // and unchanged: a savepoint takes back just this one.
      const client = call?.client
      try {
        if (client == null) await write(call, (c) => transferRows(c, entry))
        else {
          await client.query('SAVEPOINT transfer')
          try {
            await transferRows(client, entry)
            await client.query('RELEASE SAVEPOINT transfer')
          } catch (err) {
            await client.query('ROLLBACK TO SAVEPOINT transfer')
            await client.query('RELEASE SAVEPOINT transfer')
            throw err
          }
        }
      } catch (err) {
        throw rangeErrorOf(err, entry)
      }
    },

    async transferByRef(ref, call) {
      const { rows } = await query('SELECT * FROM transfers WHERE ref = $1', [ref], call)
      return rows[0] == null ? undefined : transferFromRow(rows[0])
    },

    async balance(account, call) {
      const { rows } = await query(
        'SELECT balance FROM balances WHERE account = $1',
        [account],
        call,
      )
      return (rows[0]?.balance as bigint | undefined) ?? 0n
    },

    async balancesWithPrefix(prefix, call) {
      // A range on the primary key (bytes order, COLLATE "C") rather than LIKE: the prefix is
      // peer input, and `%`/`_` in it must not match.
      const { rows } = await query(
        'SELECT account, balance FROM balances WHERE account >= $1 AND account < $2 AND balance <> 0 ORDER BY account',
        [prefix, `${prefix}\u{10ffff}`],
        call,
      )
      return rows.map((row) => ({ account: row.account as string, balance: row.balance as bigint }))
    },

    async creditedTotal(account, kinds, call) {
      const { rows } = await query(
        'SELECT COALESCE(SUM(amount), 0) AS total FROM transfers WHERE credit = $1 AND kind = ANY($2::text[])',
        [account, checkKinds(kinds)],
        call,
      )
      return rows[0]?.total as bigint
    },

    async creditedTotals(kinds, prefix, call) {
      const { rows } = await query(
        `SELECT credit AS account, SUM(amount) AS total FROM transfers
         WHERE kind = ANY($1::text[]) AND credit >= $2 AND credit < $3
         GROUP BY credit ORDER BY credit`,
        [checkKinds(kinds), prefix, `${prefix}\u{10ffff}`],
        call,
      )
      return rows.map((row) => ({ account: row.account as string, total: row.total as bigint }))
    },

    async ledgerImbalance(call) {
      // SUM of BIGINT is a NUMERIC in PostgreSQL: exact, whatever the balances' signs.
      const { rows } = await query(
        'SELECT COALESCE(SUM(balance), 0) AS total FROM balances',
        [],
        call,
      )
      return rows[0]?.total as bigint
    },

    async transferredTotal(kinds, call) {
      const untracked = kinds.find((kind) => !TOTALED_KINDS.has(kind))
      if (untracked != null)
        throw new RangeError(
          `no running total is kept of ${untracked} transfers (only of ${[...TOTALED_KINDS].join(', ')}); sum them from transfers`,
        )
      const { rows } = await query(
        'SELECT COALESCE(SUM(total), 0) AS total FROM transfer_totals WHERE kind = ANY($1::text[])',
        [[...kinds]],
        call,
      )
      return rows[0]?.total as bigint
    },

    async addCompute(hour, gflop, tasks, call) {
      await addComputeRow(undefined, hour, gflop, tasks, call)
    },

    async computeHours(from, to, call) {
      const { rows } = await query(
        'SELECT hour, gflop, tasks FROM compute_hours WHERE hour >= $1 AND hour <= $2 ORDER BY hour',
        [from, to],
        call,
      )
      return rows.map(
        (row): ComputeHourRow => ({
          hour: num(row.hour),
          gflop: row.gflop as number,
          tasks: num(row.tasks),
        }),
      )
    },

    async computeTotal(call) {
      const { rows } = await query(
        'SELECT COALESCE(SUM(gflop), 0) AS gflop, COALESCE(SUM(tasks), 0) AS tasks FROM compute_hours',
        [],
        call,
      )
      return { gflop: rows[0]?.gflop as number, tasks: num(rows[0]?.tasks) }
    },

    async applyJournal(client, entries) {
      // Applied in a few statements per group rather than a few per entry: what commutes is
      // gathered and written once at the end (balance deltas, running totals, compute, fault
      // counts), what is last-wins or first-wins is merged per key (job patches, contributors,
      // bans, blobs), and runs of accepted results go in as one multi-row insert, flushed
      // before a delete or a confirmation that may touch one of them.
      const jobPatches = new Map<string, JobPatch>()
      const contributors = new Map<string, StoredContributor>()
      const bans = new Map<string, { reason: string; at: number }>()
      const faults = new Map<string, number>()
      const blobs = new Map<string, Uint8Array>()
      const transfers: LedgerEntry[] = []
      const compute = new Map<number, { gflop: number; tasks: number }>()
      let results: Array<{ result: StoredResult; seq: number }> = []
      const flushResults = async () => {
        if (results.length === 0) return
        await insertResultRows(client, results)
        results = []
      }
      for (const entry of entries) {
        switch (entry.op) {
          case 'insertJob': {
            // The database numbers jobs: each coordinator's memory numbers its own from 1,
            // and a job's seq is only its place in listings.
            await insertJobRow(client, entry.args[0], null)
            break
          }
          case 'updateJob': {
            const [id, patch] = entry.args
            jobPatches.set(id, { ...jobPatches.get(id), ...patch })
            break
          }
          case 'insertResult':
            results.push({ result: entry.args[0], seq: entry.result })
            break
          case 'deleteResult':
            await flushResults()
            await query(
              'DELETE FROM results WHERE job_id = $1 AND task_index = $2',
              [...entry.args],
              { client },
            )
            break
          case 'confirmResult':
            // undefined: the in-memory store held no provisional result, and changed nothing.
            if (entry.result == null) break
            await flushResults()
            await confirmResultRow(client, entry.args[0], entry.args[1], entry.result)
            break
          case 'putContributor':
            contributors.set(entry.args[0].id, entry.args[0])
            break
          case 'addBan': {
            const [key, reason, at] = entry.args
            if (!bans.has(key)) bans.set(key, { reason, at })
            break
          }
          case 'addFault':
            faults.set(entry.args[0], (faults.get(entry.args[0]) ?? 0) + 1)
            break
          case 'putBlob':
            if (!blobs.has(entry.args[0])) blobs.set(entry.args[0], entry.args[1])
            break
          case 'transfer': {
            const [transfer] = entry.args
            checkAmount(transfer.amount)
            if (transfer.amount !== 0n) transfers.push(transfer)
            break
          }
          case 'addCompute': {
            const [hour, gflop, tasks] = entry.args
            const sum = compute.get(hour)
            if (sum == null) compute.set(hour, { gflop, tasks })
            else {
              sum.gflop += gflop
              sum.tasks += tasks
            }
            break
          }
          default: {
            if (options.auxiliary == null)
              throw new Error(
                `journal entry ${entry.op} writes nonces, sessions or epochs, which this store leaves to an auxiliary writer: pass createPostgresStore(pool, { auxiliary }) one`,
              )
            await options.auxiliary(client, entry)
          }
        }
      }
      // Everything else in one statement: one round trip, whatever the batch holds.
      const bulk = new BulkStatement()
      if (results.length > 0) resultRowsPart(bulk, 'result_rows', results)
      jobPatchParts(bulk, jobPatches)
      if (contributors.size > 0) {
        const rows = [...contributors.values()]
        bulk.add(
          'contributor_rows',
          `INSERT INTO contributors (id, payee, verified, faults, banned, last_seen)
           SELECT * FROM unnest(${bulk.param(
             rows.map((c) => c.id),
             'text[]',
           )}, ${bulk.param(
             rows.map((c) => c.payee),
             'text[]',
           )}, ${bulk.param(
             rows.map((c) => c.verified),
             'int[]',
           )}, ${bulk.param(
             rows.map((c) => c.faults),
             'int[]',
           )}, ${bulk.param(
             rows.map((c) => c.banned),
             'boolean[]',
           )}, ${bulk.param(
             rows.map((c) => c.lastSeen),
             'bigint[]',
           )})
           ON CONFLICT (id) DO UPDATE SET payee = excluded.payee, verified = excluded.verified,
             faults = excluded.faults, banned = excluded.banned, last_seen = excluded.last_seen`,
        )
      }
      if (bans.size > 0)
        bulk.add(
          'ban_rows',
          `INSERT INTO bans (key, reason, at)
           SELECT * FROM unnest(${bulk.param([...bans.keys()], 'text[]')}, ${bulk.param(
             [...bans.values()].map((b) => b.reason),
             'text[]',
           )}, ${bulk.param(
             [...bans.values()].map((b) => b.at),
             'bigint[]',
           )})
           ON CONFLICT (key) DO NOTHING`,
        )
      if (faults.size > 0)
        bulk.add(
          'fault_rows',
          `INSERT INTO fault_counts (key, faults)
           SELECT * FROM unnest(${bulk.param([...faults.keys()], 'text[]')}, ${bulk.param(
             [...faults.values()],
             'int[]',
           )})
           ON CONFLICT (key) DO UPDATE SET faults = fault_counts.faults + excluded.faults`,
        )
      if (blobs.size > 0)
        bulk.add(
          'blob_rows',
          `INSERT INTO blobs (hash, bytes)
           SELECT * FROM unnest(${bulk.param([...blobs.keys()], 'text[]')}, ${bulk.param(
             [...blobs.values()].map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
             'bytea[]',
           )})
           ON CONFLICT (hash) DO NOTHING`,
        )
      if (transfers.length > 0) transferParts(bulk, transfers)
      if (compute.size > 0)
        bulk.add(
          'compute_rows',
          `INSERT INTO compute_hours (hour, gflop, tasks)
           SELECT * FROM unnest(${bulk.param([...compute.keys()], 'bigint[]')}, ${bulk.param(
             [...compute.values()].map((c) => c.gflop),
             'float8[]',
           )}, ${bulk.param(
             [...compute.values()].map((c) => c.tasks),
             'bigint[]',
           )})
           ON CONFLICT (hour) DO UPDATE SET gflop = compute_hours.gflop + excluded.gflop,
             tasks = compute_hours.tasks + excluded.tasks`,
        )
      const balances = new Map<string, bigint>()
      if (bulk.empty) return { balances }
      let rows: Row[]
      try {
        ;({ rows } = await query(
          bulk.text(
            transfers.length > 0 ? 'SELECT account, balance FROM balances_moved' : 'SELECT 1',
          ),
          bulk.values,
          { client },
          true,
        ))
      } catch (err) {
        if ((err as { code?: string }).code !== OUT_OF_RANGE) throw err
        throw new RangeError(
          `applying ${transfers.length} transfers would take a balance or a total past the ledger's signed 64-bit range (±2^63): the journal is refused with its transaction`,
          { cause: err },
        )
      }
      if (transfers.length > 0)
        for (const row of rows) balances.set(row.account as string, row.balance as bigint)
      return { balances }
    },

    async jobSnapshot(jobId, signal) {
      return withTransaction(
        pool,
        async (client) => {
          const call = { client }
          const { rows: jobRows } = await query('SELECT * FROM jobs WHERE id = $1', [jobId], call)
          if (jobRows[0] == null) return undefined
          const job = jobFromRow(jobRows[0])
          const { rows: resultRows } = await query(
            'SELECT * FROM results WHERE job_id = $1 ORDER BY seq',
            [jobId],
            call,
          )
          // Pending accounts end in `:<id>` or hold `:<id>@<site>`; a job id holds neither a
          // colon nor an `@`, so these literal matches (not LIKE: `_` is a wildcard there,
          // and a job id character) find exactly the job's. Parsed again to be sure.
          const { rows: balanceRows } = await query(
            `SELECT account, balance FROM balances
             WHERE account = $1
               OR (account >= 'pending:' AND account < 'pending;'
                   AND (right(account, length($2)) = $2 OR strpos(account, $3) > 0))
             ORDER BY account`,
            [`escrow:${jobId}`, `:${jobId}`, `:${jobId}@`],
            call,
          )
          const balances = balanceRows
            .filter(
              (row) =>
                row.account === `escrow:${jobId}` ||
                parsePendingAccount(row.account as string)?.jobId === jobId,
            )
            .map((row) => ({ account: row.account as string, balance: row.balance as bigint }))
          const { rows: transferRows } = await query(
            'SELECT * FROM transfers WHERE job_id = $1 ORDER BY id',
            [jobId],
            call,
          )
          const { rows: blobRows } = await query(
            'SELECT hash, bytes FROM blobs WHERE hash = ANY($1::text[]) ORDER BY hash',
            [[...blobsNamed(job.spec)]],
            call,
          )
          const { rows: contributorRows } = await query(
            'SELECT * FROM contributors WHERE id IN (SELECT peer_id FROM results WHERE job_id = $1) ORDER BY id',
            [jobId],
            call,
          )
          return {
            job,
            results: resultRows.map(resultFromRow),
            balances,
            transfers: transferRows.map(transferFromRow),
            blobs: blobRows.map((row) => ({
              hash: row.hash as string,
              bytes: new Uint8Array(row.bytes as Buffer),
            })),
            contributors: contributorRows.map(contributorFromRow),
          }
        },
        { isolation: 'repeatable read', ...(signal != null ? { signal } : {}) },
      )
    },

    async close() {
      if (closed) return
      closed = true
      await pool.end()
    },
  }
  return store
}
