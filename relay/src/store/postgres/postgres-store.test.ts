import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLedger } from '../../ledger/ledger.ts'
import { HOUR, job, result } from '../coordinator-store.contract.ts'
import type { CoordinatorStore, StoredJob } from '../coordinator-store.ts'
import { createSqliteStore } from '../sqlite-store.ts'
import { JOURNALED_OPS, type JournalEntry } from '../store-journal.ts'
import { coreTables } from './migrations/core-tables.ts'
import { applyPostgresMigrations } from './postgres-migrations.ts'
import { createPostgresPool, withTransaction } from './postgres-pool.ts'
import {
  createPostgresStore,
  type PostgresStore,
  type PostgresStoreOptions,
} from './postgres-store.ts'
import { type PostgresServer, startPostgresServer } from './testing/postgres-server.ts'

let server: PostgresServer
beforeAll(async () => {
  server = await startPostgresServer()
}, 90_000)
afterAll(async () => {
  await server?.stop()
})

const opened: PostgresStore[] = []
afterAll(async () => {
  for (const store of opened.splice(0)) await store.close()
})

/** A fresh database with the core tables, and `count` stores on it, each with a pool of its own. */
async function openStores(
  count: number,
  options: PostgresStoreOptions = {},
): Promise<Array<{ store: PostgresStore; pool: ReturnType<typeof createPostgresPool> }>> {
  const url = await server.createDatabase()
  const stores = []
  for (let i = 0; i < count; i++) {
    const pool = createPostgresPool(url, { max: 4 })
    if (i === 0) await applyPostgresMigrations(pool, [coreTables])
    const store = createPostgresStore(pool, options)
    opened.push(store)
    stores.push({ store, pool })
  }
  return stores
}

/**
 * A SQLite store whose state-changing calls are recorded as journal entries, the way a
 * coordinator on PostgreSQL records its in-memory store's: arguments copied (a job's
 * `seq` as the store assigned it), and what the call returned.
 */
function recording(store: CoordinatorStore): { store: CoordinatorStore; journal: JournalEntry[] } {
  const journal: JournalEntry[] = []
  const journaled = new Set<string>(JOURNALED_OPS)
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown
      if (typeof value !== 'function') return value
      if (typeof prop !== 'string' || !journaled.has(prop)) return value.bind(target)
      return (...args: unknown[]) => {
        const copied = structuredClone(args)
        const returned = value.apply(target, args)
        if (prop === 'insertJob') (copied[0] as StoredJob).seq = (args[0] as StoredJob).seq
        journal.push({ op: prop, args: copied, result: returned } as JournalEntry)
        return returned
      }
    },
  })
  return { store: proxy, journal }
}

const BLOB_A = 'a'.repeat(64)
const BLOB_B = 'b'.repeat(64)
const BLOB_C = 'c'.repeat(64)

/** A job's life on a store: submitted, paid, a provisional result confirmed, one undone, figures. */
function runJob(store: CoordinatorStore, jobId: string, peers: string[]): void {
  const ledger = createLedger(store, { siteShareBps: 1000 })
  const spec = {
    kernel: 'matmul',
    inputs: {
      a: { blob: BLOB_A, dtype: 'float32', shape: [2, 2] },
      b: { blob: BLOB_B, dtype: 'float32', shape: [2, 2] },
    },
  } as unknown as StoredJob['spec']
  store.transaction(() => {
    ledger.grant('owner', 100n, 1)
    expect(ledger.escrow('owner', jobId, 40n, 1)).toBe(true)
    store.insertJob(job(jobId, { spec, budget: 40n, taskCredits: 10n }))
  })
  for (const [i, peer] of peers.entries())
    store.transaction(() => {
      const provisional = i === 1
      store.insertResult(
        result(jobId, i, {
          peerId: peer,
          payee: `peer:${peer}`,
          ...(provisional ? { provisional: true, method: 'trusted' } : {}),
        }),
      )
      ledger.pay(jobId, `peer:${peer}`, 10n, 2, `pay:${jobId}/${i}`, i === 0 ? '0xsite' : undefined)
      store.addCompute(HOUR * 10, 1.5, 1)
      store.putContributor({
        id: peer,
        payee: `peer:${peer}`,
        verified: i,
        faults: 0,
        banned: false,
        lastSeen: 3,
      })
      store.updateJob(jobId, { acceptedTasks: i + 1, spent: BigInt(10 * (i + 1)), firstLeaseAt: 2 })
    })
  store.transaction(() => {
    store.confirmResult(jobId, 1)
    store.confirmResult(jobId, 3)
    // The last acceptance is undone: its result and payment taken back.
    store.deleteResult(jobId, peers.length - 1)
    ledger.unpay(jobId, `pay:${jobId}/${peers.length - 1}`, 4, `unpay:${jobId}/${peers.length - 1}`)
    store.addCompute(HOUR * 10, -1.5, -1)
    store.addFault('wallet:0xbad')
    store.addBan(`peer:${peers.at(-1)}`, 'wrong result', 4)
    store.putBlob(BLOB_A, new Uint8Array([1, 2, 3]))
    store.putBlob(BLOB_C, new Uint8Array([9]))
  })
}

/** Every read both stores answer, for one job: equal on both when the journal was applied right. */
async function readsOf(
  store: {
    [K in keyof CoordinatorStore]: (...args: never[]) => unknown
  },
  jobId: string,
): Promise<unknown> {
  const s = store as unknown as CoordinatorStore
  const all = async <T>(value: T | Promise<T>) => await value
  return {
    job: await all(s.getJob(jobId)),
    list: await all(s.listJobs({ limit: 10 })),
    accepted: ((await all(s.acceptedTasks(jobId))) as number[]).sort(),
    results: await all(s.results(jobId, 0, 100)),
    provisional: await all(s.provisionalResults(jobId)),
    byLease: await all(s.resultByLease(`${jobId}/lease-0`)),
    summary: await all(s.resultSummary(jobId, 0)),
    balances: await all(s.balancesWithPrefix('')),
    imbalance: await all(s.ledgerImbalance()),
    totals: await all(s.transferredTotal(['grant', 'escrow', 'payout', 'site-share', 'refund'])),
    unpaid: await all(s.transferByRef(`unpay:${jobId}/2`)),
    pending: Object.fromEntries(await all(s.pendingPayees())),
    contributor: await all(s.getContributor('p0')),
    bans: await all(s.countBans()),
    banned: await all(s.isBanned('peer:p2')),
    fault: await all(s.addFault('wallet:0xbad')),
    blob: await all(s.getBlob(BLOB_A)),
    blobBytes: await all(s.blobBytes()),
    hours: await all(s.computeHours(0, HOUR * 24)),
    compute: await all(s.computeTotal()),
  }
}

describe('PostgresStore.applyJournal', () => {
  it('applied to PostgreSQL, a journal recorded from a store gives the same reads', async () => {
    const [{ store: pgStore, pool }] = (await openStores(1)) as [
      { store: PostgresStore; pool: ReturnType<typeof createPostgresPool> },
    ]
    const sqlite = createSqliteStore({ path: ':memory:' })
    const { store, journal } = recording(sqlite)
    runJob(store, 'job_1', ['p0', 'p1', 'p2'])
    expect(new Set(journal.map((e) => e.op))).toEqual(
      new Set([
        'transfer',
        'insertJob',
        'insertResult',
        'addCompute',
        'putContributor',
        'updateJob',
        'confirmResult',
        'deleteResult',
        'addFault',
        'addBan',
        'putBlob',
      ]),
    )
    // Applied in two transactions, as two commit groups would be.
    const cut = journal.findIndex((e) => e.op === 'confirmResult')
    await withTransaction(pool, (client) => pgStore.applyJournal(client, journal.slice(0, cut)))
    await withTransaction(pool, (client) => pgStore.applyJournal(client, journal.slice(cut)))
    const expected = await readsOf(sqlite as never, 'job_1')
    expect(await readsOf(pgStore as never, 'job_1')).toEqual(expected)
    // The confirmed result kept the seq the journal gave it, past the published ones.
    const confirmed = journal.find((e) => e.op === 'confirmResult' && e.result != null)
    expect((await pgStore.resultsOfTask('job_1', 1))[0]?.seq).toBe(confirmed?.result)
    // A row written later without a journal takes a seq past every one the journal wrote.
    const maxSeq = Math.max(
      ...journal.filter((e) => e.op === 'insertResult').map((e) => e.result as number),
      confirmed?.result as number,
    )
    expect(await pgStore.insertResult(result('job_1', 9))).toBeGreaterThan(maxSeq)
    const later = job('job_2')
    await pgStore.insertJob(later)
    expect(later.seq).toBeGreaterThan((await pgStore.getJob('job_1'))?.seq as number)
    sqlite.close()
  })

  it('rolls back with its transaction, and refuses what it cannot write, naming why', async () => {
    const seen: string[] = []
    const [{ store, pool }] = (await openStores(1, {
      auxiliary: async (_client, entry) => {
        seen.push(entry.op)
      },
    })) as [{ store: PostgresStore; pool: ReturnType<typeof createPostgresPool> }]
    const nonce: JournalEntry = { op: 'claimNonce', args: ['0xabc/1', 5], result: true }
    const grant: JournalEntry = {
      op: 'transfer',
      args: [{ from: 'treasury', to: 'a', amount: 5n, kind: 'grant', at: 1 }],
      result: undefined,
    }
    await withTransaction(pool, (client) => store.applyJournal(client, [grant, nonce]))
    expect(seen).toEqual(['claimNonce'])
    expect(await store.balance('a')).toBe(5n)

    const bare = createPostgresStore(pool)
    await expect(
      withTransaction(pool, (client) => bare.applyJournal(client, [grant, nonce])),
    ).rejects.toThrow(/auxiliary/)
    expect(await store.balance('a')).toBe(5n)

    // Past 64 bits: a RangeError, and the whole journal is refused with its transaction.
    const huge: JournalEntry = {
      op: 'transfer',
      args: [{ from: 'treasury', to: 'a', amount: 2n ** 63n - 1n, kind: 'grant', at: 2 }],
      result: undefined,
    }
    await expect(
      withTransaction(pool, (client) => store.applyJournal(client, [grant, huge])),
    ).rejects.toThrow(RangeError)
    expect(await store.balance('a')).toBe(5n)
    expect(await store.ledgerImbalance()).toBe(0n)
  })
})

describe('PostgresStore', () => {
  it('refuses a transfer inside a caller’s transaction without spoiling it', async () => {
    const [{ store, pool }] = (await openStores(1)) as [
      { store: PostgresStore; pool: ReturnType<typeof createPostgresPool> },
    ]
    await store.transfer({
      from: 'treasury',
      to: 'a',
      amount: 2n ** 63n - 1n,
      kind: 'grant',
      at: 1,
    })
    await withTransaction(pool, async (client) => {
      await expect(
        store.transfer({ from: 'treasury', to: 'a', amount: 1n, kind: 'grant', at: 2 }, { client }),
      ).rejects.toThrow(RangeError)
      await store.transfer(
        { from: 'a', to: 'b', amount: 3n, kind: 'pay', at: 3, ref: 'r' },
        { client },
      )
      await expect(
        store.transfer(
          { from: 'a', to: 'b', amount: 3n, kind: 'pay', at: 3, ref: 'r' },
          { client },
        ),
      ).rejects.toThrow(/unique/i)
      await store.addBan('peer:x', 'why', 4, { client })
    })
    expect(await store.balance('b')).toBe(3n)
    expect(await store.isBanned('peer:x')).toBe(true)
    expect(await store.ledgerImbalance()).toBe(0n)
    await expect(store.getJob('x', { signal: AbortSignal.abort() })).rejects.toThrow()
  })

  it('sums concurrent transfers of one account from two pools exactly', async () => {
    const [a, b] = (await openStores(2)) as Array<{
      store: PostgresStore
      pool: ReturnType<typeof createPostgresPool>
    }>
    const n = 60
    const fromA = Array.from({ length: n }, (_, i) =>
      a!.store.transfer({
        from: 'researcher',
        to: `worker-a-${i % 7}`,
        amount: BigInt(i + 1),
        kind: 'pay',
        at: i,
      }),
    )
    // The other pool as a coordinator does: journal groups, each in one transaction.
    const fromB = Array.from({ length: n / 5 }, (_, g) =>
      withTransaction(b!.pool, (client) =>
        b!.store.applyJournal(
          client,
          Array.from(
            { length: 5 },
            (_, k): JournalEntry => ({
              op: 'transfer',
              args: [
                {
                  from: 'researcher',
                  to: `worker-b-${k}`,
                  amount: BigInt(1000 * (g + 1) + k),
                  kind: 'pay',
                  at: g,
                },
              ],
              result: undefined,
            }),
          ),
        ),
      ),
    )
    await Promise.all([...fromA, ...fromB])
    let expected = 0n
    for (let i = 0; i < n; i++) expected += BigInt(i + 1)
    for (let g = 0; g < n / 5; g++)
      for (let k = 0; k < 5; k++) expected += BigInt(1000 * (g + 1) + k)
    expect(await a!.store.balance('researcher')).toBe(-expected)
    expect(await b!.store.ledgerImbalance()).toBe(0n)
    const workers = await a!.store.balancesWithPrefix('worker-')
    expect(workers.reduce((sum, w) => sum + w.balance, 0n)).toBe(expected)
  })
})

describe('PostgresStore.jobSnapshot', () => {
  it('reads everything a new owner needs of one job, and nothing of another', async () => {
    const [{ store: pgStore, pool }] = (await openStores(1)) as [
      { store: PostgresStore; pool: ReturnType<typeof createPostgresPool> },
    ]
    const sqlite = createSqliteStore({ path: ':memory:' })
    const { store, journal } = recording(sqlite)
    // `job_1` and `jobx1`: a LIKE pattern of one matches the other.
    runJob(store, 'job_1', ['p0', 'p1', 'p2'])
    runJob(store, 'jobx1', ['q0', 'q1', 'q2'])
    await withTransaction(pool, (client) => pgStore.applyJournal(client, journal))

    expect(await pgStore.jobSnapshot('nope')).toBeUndefined()
    const snapshot = await pgStore.jobSnapshot('job_1')
    expect(snapshot?.job).toEqual(sqlite.getJob('job_1'))
    expect(snapshot?.results).toEqual(
      [0, 1]
        .flatMap((i) => sqlite.resultsOfTask('job_1', i))
        .sort((x, y) => (x.seq ?? 0) - (y.seq ?? 0)),
    )
    expect(snapshot?.balances).toEqual([
      { account: 'escrow:job_1', balance: sqlite.balance('escrow:job_1') },
      { account: 'pending:peer:p0:job_1@0xsite', balance: 10n },
      { account: 'pending:peer:p1:job_1', balance: 10n },
      { account: 'pending:peer:p2:job_1', balance: 0n },
    ])
    expect(snapshot?.transfers.map((t) => t.ref ?? t.kind)).toEqual([
      'escrow',
      'pay:job_1/0',
      'pay:job_1/1',
      'pay:job_1/2',
      'unpay:job_1/2',
    ])
    expect(snapshot?.transfers[1]).toEqual(sqlite.transferByRef('pay:job_1/0'))
    expect(snapshot?.blobs).toEqual([{ hash: BLOB_A, bytes: new Uint8Array([1, 2, 3]) }])
    expect(snapshot?.contributors.map((c) => c.id)).toEqual(['p0', 'p1'])
    expect(snapshot?.contributors[0]).toEqual(sqlite.getContributor('p0'))
    sqlite.close()
  })
})
