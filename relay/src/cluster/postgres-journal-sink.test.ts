import type pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { job, result } from '../store/coordinator-store.contract.ts'
import type { LedgerEntry } from '../store/coordinator-store.ts'
import { applyPostgresMigrations } from '../store/postgres/postgres-migrations.ts'
import { createPostgresPool } from '../store/postgres/postgres-pool.ts'
import { POSTGRES_MIGRATIONS } from '../store/postgres/postgres-schema.ts'
import { createPostgresStore, type PostgresStore } from '../store/postgres/postgres-store.ts'
import {
  type PostgresServer,
  startPostgresServer,
} from '../store/postgres/testing/postgres-server.ts'
import type { JournalEntry } from '../store/store-journal.ts'
import { ESCROW_REFUSED } from './escrow-overdraft.ts'
import { FencedError } from './job-ownership.ts'
import { createPostgresJobOwnership, type PostgresJobOwnership } from './postgres-job-ownership.ts'
import { createPostgresJournalSink } from './postgres-journal-sink.ts'
import type { JournalSink } from './write-behind-store.ts'

let server: PostgresServer
const pools: pg.Pool[] = []

beforeAll(async () => {
  server = await startPostgresServer()
}, 120_000)
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.end()))
})
afterAll(async () => {
  await server?.stop()
})

interface Coordinator {
  pool: pg.Pool
  store: PostgresStore
  ownership: PostgresJobOwnership
  sink: JournalSink
}

/** A fresh database with every migration, and `n` coordinators on it. */
async function cluster(n: number): Promise<Coordinator[]> {
  const url = await server.createDatabase()
  const made: Coordinator[] = []
  for (let i = 0; i < n; i++) {
    const pool = createPostgresPool(url, { max: 2 })
    pools.push(pool)
    if (i === 0) await applyPostgresMigrations(pool, POSTGRES_MIGRATIONS)
    const store = createPostgresStore(pool)
    const ownership = createPostgresJobOwnership({ pool, leaseMs: 60_000, renewMs: 1_000 })
    const sink = createPostgresJournalSink({
      pool,
      coordinatorId: ownership.coordinatorId,
      ownership,
      applyJournal: (client, entries) => store.applyJournal(client, entries),
    })
    made.push({ pool, store, ownership, sink })
  }
  return made
}

const signal = () => AbortSignal.timeout(10_000)
const transfer = (entry: LedgerEntry): JournalEntry => ({
  op: 'transfer',
  args: [entry],
  result: undefined,
})
const grant = (to: string, amount: bigint, at: number) =>
  transfer({ from: 'treasury', to, amount, kind: 'grant', at })
const escrow = (from: string, jobId: string, amount: bigint, at: number) =>
  transfer({ from, to: `escrow:${jobId}`, amount, kind: 'escrow', jobId, at })

/** A job's submission as a coordinator journals it: the escrow first, then the job. */
function submission(jobId: string, owner: string, budget: bigint): JournalEntry[] {
  return [
    escrow(owner, jobId, budget, 2),
    { op: 'insertJob', args: [job(jobId, { owner, budget })], result: undefined },
  ]
}

/** One accepted result with its payment and the job's counters, as one unit journals it. */
function accepted(jobId: string, taskIndex: number, seq: number, spent: bigint): JournalEntry[] {
  return [
    { op: 'insertResult', args: [result(jobId, taskIndex)], result: seq },
    transfer({
      from: `escrow:${jobId}`,
      to: 'peer:p1',
      amount: 3n,
      kind: 'pay',
      jobId,
      at: 10 + taskIndex,
    }),
    { op: 'updateJob', args: [jobId, { acceptedTasks: taskIndex + 1, spent }], result: undefined },
  ]
}

describe('PostgreSQL journal sink', () => {
  it('applies a batch once: a retry of the same batch (its answer lost) changes nothing, even after the job ended', async () => {
    const [a] = (await cluster(1)) as [Coordinator]
    await a.sink.apply({ id: 1, entries: [grant('alice', 100n, 1)] }, signal())
    // The escrow comes before the job it pays for: the job is adopted, not fenced.
    await a.sink.apply({ id: 2, entries: submission('job_1', 'alice', 12n) }, signal())
    expect(a.ownership.owned().get('job_1')).toBe(1n)
    const ending: JournalEntry[] = [
      ...accepted('job_1', 0, 2 ** 32, 3n),
      {
        op: 'updateJob',
        args: ['job_1', { status: 'completed', finishedAt: 99 }],
        result: undefined,
      },
    ]
    await a.sink.apply({ id: 3, entries: ending }, signal())
    await a.sink.apply({ id: 3, entries: ending }, signal())
    expect(await a.store.balance('alice')).toBe(88n)
    expect(await a.store.balance('peer:p1')).toBe(3n)
    expect(await a.store.ledgerImbalance()).toBe(0n)
    expect(await a.store.getJob('job_1')).toMatchObject({
      status: 'completed',
      acceptedTasks: 1,
      spent: 3n,
      finishedAt: 99,
    })
    expect((await a.store.resultsOfTask('job_1', 0))[0]?.seq).toBe(2 ** 32)
    const owners = await a.pool.query('SELECT count(*)::int AS n FROM job_owners')
    expect(owners.rows[0].n).toBe(0)
    // A result written directly afterwards still numbers past the journal's.
    expect(await a.store.insertResult(result('job_1', 1))).toBeGreaterThan(2 ** 32)
  })

  it('writes the patches of several jobs in one batch, each with its own columns, the last value of each winning', async () => {
    const [a] = (await cluster(1)) as [Coordinator]
    await a.sink.apply({ id: 1, entries: [grant('alice', 100n, 1)] }, signal())
    await a.sink.apply(
      {
        id: 2,
        entries: [...submission('job_1', 'alice', 12n), ...submission('job_2', 'alice', 12n)],
      },
      signal(),
    )
    const patch = (id: string, p: Record<string, unknown>): JournalEntry =>
      ({ op: 'updateJob', args: [id, p], result: undefined }) as JournalEntry
    await a.sink.apply(
      {
        id: 3,
        entries: [
          patch('job_1', { acceptedTasks: 1, spent: 3n }),
          patch('job_2', { firstLeaseAt: 5 }),
          patch('job_1', { acceptedTasks: 2, spent: 2n ** 62n }),
          patch('job_2', { status: 'failed', error: 'it broke', finishedAt: 7 }),
        ],
      },
      signal(),
    )
    expect(await a.store.getJob('job_1')).toMatchObject({
      status: 'running',
      acceptedTasks: 2,
      spent: 2n ** 62n,
    })
    expect(await a.store.getJob('job_2')).toMatchObject({
      status: 'failed',
      error: 'it broke',
      finishedAt: 7,
      firstLeaseAt: 5,
      acceptedTasks: 0,
    })
  })

  it("refuses a stale owner's batch with FencedError and writes none of it", async () => {
    const [a, b] = (await cluster(2)) as [Coordinator, Coordinator]
    await a.sink.apply({ id: 1, entries: [grant('alice', 100n, 1)] }, signal())
    await a.sink.apply({ id: 2, entries: submission('job_1', 'alice', 12n) }, signal())
    // A's lease lapses and B takes the job over (token 2).
    await a.pool.query('UPDATE job_owners SET expires_at = 0')
    expect(await b.ownership.takeOver(10)).toEqual([{ jobId: 'job_1', token: 2n }])
    const stale = { id: 3, entries: accepted('job_1', 0, 2 ** 32, 3n) }
    const refused = await a.sink.apply(stale, signal()).catch((err: unknown) => err)
    expect(refused).toBeInstanceOf(FencedError)
    expect((refused as FencedError).jobId).toBe('job_1')
    expect(await a.store.resultsOfTask('job_1', 0)).toEqual([])
    expect(await a.store.balance('peer:p1')).toBe(0n)
    expect((await a.store.getJob('job_1'))?.acceptedTasks).toBe(0)
    // Nothing recorded either: the batch's record rolled back with it.
    const recorded = await a.pool.query(
      'SELECT count(*)::int AS n FROM journal_batches WHERE batch = 3',
    )
    expect(recorded.rows[0].n).toBe(0)
    // The new owner's write of the same task goes through.
    await b.sink.apply({ id: 1, entries: accepted('job_1', 0, 2 ** 33, 3n) }, signal())
    expect((await b.store.resultsOfTask('job_1', 0))[0]?.seq).toBe(2 ** 33)
  })

  it('fences a batch at the tokens it was cut under: changes made before a coordinator lost a job and took it back are refused', async () => {
    const [a] = (await cluster(1)) as [Coordinator]
    await a.sink.apply({ id: 1, entries: [grant('alice', 100n, 1)] }, signal())
    await a.sink.apply({ id: 2, entries: submission('job_1', 'alice', 12n) }, signal())
    // Cut while A held the job at token 1, and delayed (the database was away) ...
    const before = {
      id: 3,
      entries: accepted('job_1', 0, 2 ** 32, 3n),
      tokens: a.ownership.owned(),
    }
    // ... while A's lease lapsed, A dropped the job, and took it back (token 2), reloading it.
    a.ownership.forget(['job_1'])
    await a.pool.query('UPDATE job_owners SET expires_at = 0')
    expect(await a.ownership.takeOver(10)).toEqual([{ jobId: 'job_1', token: 2n }])
    const refused = await a.sink.apply(before, signal()).catch((err: unknown) => err)
    expect(refused).toBeInstanceOf(FencedError)
    expect((refused as FencedError).message).toMatch(/held token 1/)
    expect(await a.store.balance('peer:p1')).toBe(0n)
    expect((await a.store.getJob('job_1'))?.acceptedTasks).toBe(0)
    // The same task, done again after the takeover, is paid once.
    await a.sink.apply(
      { id: 4, entries: accepted('job_1', 0, 2 ** 33, 3n), tokens: a.ownership.owned() },
      signal(),
    )
    expect(await a.store.balance('peer:p1')).toBe(3n)
    expect(await a.store.ledgerImbalance()).toBe(0n)
  })

  it('refuses, whole, a batch whose escrow overdrew its researcher (two relays took the same credits)', async () => {
    const [a, b] = (await cluster(2)) as [Coordinator, Coordinator]
    await a.sink.apply({ id: 1, entries: [grant('alice', 20n, 1)] }, signal())
    await a.sink.apply({ id: 2, entries: submission('job_a', 'alice', 12n) }, signal())
    const overdraft = b.sink.apply({ id: 1, entries: submission('job_b', 'alice', 12n) }, signal())
    await expect(overdraft).rejects.toThrow(
      new RegExp(`^${ESCROW_REFUSED}: alice has -4 credits after 12 escrowed`),
    )
    expect(await b.store.getJob('job_b')).toBeUndefined()
    expect(await b.store.balance('alice')).toBe(8n)
    expect(await b.store.ledgerImbalance()).toBe(0n)
  })
})
