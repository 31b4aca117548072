import { describe, expect, it } from 'vitest'
import type { CoordinatorStore, StoredJob, StoredResult } from './coordinator-store.ts'
import type { PostgresCoreOp } from './postgres/postgres-store.ts'

/**
 * What every coordinator store does, whatever keeps it: the contract suite that
 * `coordinator-store.test.ts` runs against the embedded SQLite store (through
 * {@link asyncCoreStore}) and against `PostgresStore` on a real server. Only the core
 * operations (no units of work, nonces, sessions or epochs): those are what both have.
 */
export type ContractStore = {
  [K in PostgresCoreOp]: CoordinatorStore[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<R>
    : never
} & { close(): Promise<void> }

/** Every core operation's name, to build adapters from. */
export const CORE_OPS = [
  'insertJob',
  'updateJob',
  'getJob',
  'listJobs',
  'runningJobs',
  'countJobsByStatus',
  'acceptedTasks',
  'insertResult',
  'resultsOfTask',
  'provisionalResults',
  'deleteResult',
  'confirmResult',
  'pendingPayees',
  'resultByLease',
  'resultSummary',
  'results',
  'getContributor',
  'putContributor',
  'addBan',
  'isBanned',
  'countBans',
  'addFault',
  'putBlob',
  'getBlob',
  'hasBlob',
  'blobBytes',
  'transfer',
  'transferByRef',
  'balance',
  'balancesWithPrefix',
  'creditedTotal',
  'creditedTotals',
  'ledgerImbalance',
  'transferredTotal',
  'addCompute',
  'computeHours',
  'computeTotal',
] as const satisfies readonly PostgresCoreOp[]

/** The synchronous store seen through the async contract: each call's throw becomes a rejection. */
export function asyncCoreStore(store: CoordinatorStore): ContractStore {
  const adapter: Record<string, unknown> = {
    close: async () => store.close(),
  }
  for (const op of CORE_OPS) {
    const method = store[op] as (...args: unknown[]) => unknown
    adapter[op] = async (...args: unknown[]) => method.apply(store, args)
  }
  return adapter as ContractStore
}

export const HOUR = 3_600_000

export function job(id: string, overrides: Partial<StoredJob> = {}): StoredJob {
  return {
    id,
    seq: 0,
    owner: 'owner-1',
    spec: { kernel: 'matmul' } as StoredJob['spec'],
    kernel: 'matmul',
    status: 'running',
    priority: 1,
    totalTasks: 4,
    acceptedTasks: 0,
    rejectedResults: 0,
    taskCredits: 3n,
    budget: 12n,
    spent: 0n,
    refunded: 0n,
    createdAt: 1_700_000_000_000,
    ...overrides,
  }
}

export function result(
  jobId: string,
  taskIndex: number,
  overrides: Partial<StoredResult> = {},
): StoredResult {
  return {
    jobId,
    taskIndex,
    taskId: `${jobId}/t${taskIndex}`,
    leaseId: `${jobId}/lease-${taskIndex}`,
    payee: 'peer:p1',
    peerId: 'p1',
    outputs: [{ blob: 'a'.repeat(64), dtype: 'float32', shape: [2, 2] }],
    method: 'freivalds',
    acceptedAt: 1_700_000_000_000 + taskIndex,
    ...overrides,
  }
}

const INT64_MAX = 2n ** 63n - 1n

/**
 * Registers the contract's tests. `open` gives a fresh, empty store per test; the test
 * closes it.
 */
export function coordinatorStoreContract(name: string, open: () => Promise<ContractStore>): void {
  const withStore = (fn: (store: ContractStore) => Promise<void>) => async () => {
    const store = await open()
    try {
      await fn(store)
    } finally {
      await store.close()
    }
  }

  describe(`${name} coordinator store (contract)`, () => {
    it(
      'keeps a job row exactly, patches it, and numbers jobs in insertion order',
      withStore(async (store) => {
        const first = job('job-a')
        await store.insertJob(first)
        const full = job('job-b', {
          deadline: 1_700_000_100_000,
          tileRows: 64,
          tileCols: 32,
          budget: INT64_MAX,
          taskCredits: 2n ** 40n,
          kernel: 'custom',
          spec: { kernel: 'custom', nested: { list: [1, 'two', null] } } as never,
        })
        await store.insertJob(full)
        expect(full.seq).toBeGreaterThan(first.seq)
        expect(await store.getJob('job-b')).toEqual(full)
        expect(await store.getJob('missing')).toBeUndefined()

        await store.updateJob('job-b', {
          status: 'completed',
          acceptedTasks: 4,
          spent: 12n,
          refunded: INT64_MAX - 12n,
          finishedAt: 1_700_000_200_000,
          firstLeaseAt: 1_700_000_000_500,
          canariesAccepted: 2,
          closedTasks: 1,
          error: 'none really',
        })
        await store.updateJob('job-b', {})
        expect(await store.getJob('job-b')).toEqual({
          ...full,
          status: 'completed',
          acceptedTasks: 4,
          spent: 12n,
          refunded: INT64_MAX - 12n,
          finishedAt: 1_700_000_200_000,
          firstLeaseAt: 1_700_000_000_500,
          canariesAccepted: 2,
          closedTasks: 1,
          error: 'none really',
        })
        await expect(store.insertJob(job('job-a'))).rejects.toThrow(/unique/i)
      }),
    )

    it(
      'lists jobs newest first by page, by owner, status and literal id prefix',
      withStore(async (store) => {
        const ids = ['ab_1', 'abx1', 'ab_2', 'zz', 'ab%3']
        for (const [i, id] of ids.entries())
          await store.insertJob(
            job(id, {
              owner: i % 2 === 0 ? 'alice' : 'bob',
              status: i === 3 ? 'failed' : 'running',
            }),
          )
        const all = await store.listJobs({ limit: 10 })
        expect(all.map((j) => j.id)).toEqual([...ids].reverse())
        const page1 = await store.listJobs({ limit: 2 })
        const page2 = await store.listJobs({ limit: 2, before: page1.at(-1)?.seq as number })
        const page3 = await store.listJobs({ limit: 2, before: page2.at(-1)?.seq as number })
        expect([...page1, ...page2, ...page3].map((j) => j.id)).toEqual([...ids].reverse())
        expect((await store.listJobs({ owner: 'alice', limit: 10 })).map((j) => j.id)).toEqual([
          'ab%3',
          'ab_2',
          'ab_1',
        ])
        expect((await store.listJobs({ status: 'failed', limit: 10 })).map((j) => j.id)).toEqual([
          'zz',
        ])
        // `_` and `%` are characters of the prefix, not wildcards.
        expect((await store.listJobs({ idPrefix: 'ab_', limit: 10 })).map((j) => j.id)).toEqual([
          'ab_2',
          'ab_1',
        ])
        expect((await store.listJobs({ idPrefix: 'ab%', limit: 10 })).map((j) => j.id)).toEqual([
          'ab%3',
        ])
        expect(
          (await store.listJobs({ idPrefix: 'ab', owner: 'bob', limit: 10 })).map((j) => j.id),
        ).toEqual(['abx1'])
        expect((await store.runningJobs()).map((j) => j.id)).toEqual([
          'ab_1',
          'abx1',
          'ab_2',
          'ab%3',
        ])
        expect(await store.countJobsByStatus()).toEqual({
          running: 4,
          completed: 0,
          failed: 1,
          cancelled: 0,
        })
      }),
    )

    it(
      'keeps one result per task, reads them by task, lease and cursor, and undoes one',
      withStore(async (store) => {
        await store.insertJob(job('j'))
        const seqs: number[] = []
        for (const i of [2, 0, 1])
          seqs.push(await store.insertResult(result('j', i, i === 1 ? { signature: 'c2ln' } : {})))
        expect(seqs[1]).toBeGreaterThan(seqs[0] as number)
        expect(seqs[2]).toBeGreaterThan(seqs[1] as number)
        expect((await store.acceptedTasks('j')).sort()).toEqual([0, 1, 2])
        expect(await store.resultsOfTask('j', 1)).toEqual([
          { ...result('j', 1, { signature: 'c2ln' }), seq: seqs[2] },
        ])
        expect(await store.resultsOfTask('j', 3)).toEqual([])
        expect(await store.resultByLease('j/lease-0')).toEqual({ ...result('j', 0), seq: seqs[1] })
        expect(await store.resultByLease('nope')).toBeUndefined()
        await expect(store.insertResult(result('j', 0, { leaseId: 'other' }))).rejects.toThrow(
          /unique|duplicate/i,
        )

        const all = await store.results('j', 0, 10)
        expect(all.map((r) => [r.index, r.seq])).toEqual([
          [2, seqs[0]],
          [0, seqs[1]],
          [1, seqs[2]],
        ])
        expect(all[0]).toEqual({
          seq: seqs[0],
          taskId: 'j/t2',
          index: 2,
          outputs: result('j', 2).outputs,
          method: 'freivalds',
          acceptedAt: result('j', 2).acceptedAt,
        })
        expect((await store.results('j', seqs[0] as number, 1)).map((r) => r.index)).toEqual([0])
        expect(await store.results('j', seqs[2] as number, 10)).toEqual([])

        expect(await store.deleteResult('j', 0)).toBe(true)
        expect(await store.deleteResult('j', 0)).toBe(false)
        expect((await store.acceptedTasks('j')).sort()).toEqual([1, 2])
        expect(await store.resultByLease('j/lease-0')).toBeUndefined()
      }),
    )

    it(
      'hides a provisional result until it is confirmed under a new seq past every cursor',
      withStore(async (store) => {
        await store.insertJob(job('j'))
        const hidden = await store.insertResult(
          result('j', 0, { method: 'trusted', provisional: true }),
        )
        const shown = await store.insertResult(result('j', 1))
        expect((await store.results('j', 0, 10)).map((r) => r.seq)).toEqual([shown])
        expect(await store.provisionalResults('j')).toEqual([
          { ...result('j', 0, { method: 'trusted', provisional: true }), seq: hidden },
        ])
        expect(await store.resultByLease('j/lease-0')).toMatchObject({ provisional: true })
        expect(await store.resultsOfTask('j', 0)).toMatchObject([{ provisional: true }])
        expect(await store.confirmResult('j', 1)).toBeUndefined()

        const confirmed = (await store.confirmResult('j', 0)) as number
        expect(confirmed).toBeGreaterThan(shown)
        expect(await store.results('j', shown, 10)).toMatchObject([{ seq: confirmed, index: 0 }])
        expect(await store.provisionalResults('j')).toEqual([])
        expect(await store.resultByLease('j/lease-0')).toEqual({
          ...result('j', 0, { method: 'trusted' }),
          seq: confirmed,
        })
        expect(await store.confirmResult('j', 0)).toBeUndefined()
      }),
    )

    it(
      'sums a job’s results by method, with the first, the last and the recent',
      withStore(async (store) => {
        await store.insertJob(job('j'))
        await store.insertJob(job('other'))
        expect(await store.resultSummary('j', 0)).toEqual({ methods: {}, acceptedSince: 0 })
        await store.insertResult(result('j', 0, { acceptedAt: 100 }))
        await store.insertResult(result('j', 1, { acceptedAt: 300, method: 'replication' }))
        await store.insertResult(
          result('j', 2, { acceptedAt: 200, method: 'trusted', provisional: true }),
        )
        await store.insertResult(result('other', 0, { acceptedAt: 50 }))
        expect(await store.resultSummary('j', 200)).toEqual({
          methods: { freivalds: 1, replication: 1, trusted: 1 },
          firstAcceptedAt: 100,
          lastAcceptedAt: 300,
          acceptedSince: 2,
        })
      }),
    )

    it(
      'keeps contributors, bans and fault counts',
      withStore(async (store) => {
        const c = {
          id: 'p1',
          payee: 'peer:p1',
          verified: 3,
          faults: 0,
          banned: false,
          lastSeen: 1_700_000_000_001,
        }
        await store.putContributor(c)
        expect(await store.getContributor('p1')).toEqual(c)
        await store.putContributor({ ...c, payee: '0xabc', verified: 0, faults: 1, banned: true })
        expect(await store.getContributor('p1')).toEqual({
          ...c,
          payee: '0xabc',
          verified: 0,
          faults: 1,
          banned: true,
        })
        expect(await store.getContributor('p2')).toBeUndefined()

        expect(await store.isBanned('peer:p1')).toBe(false)
        await store.addBan('peer:p1', 'wrong result', 5)
        await store.addBan('peer:p1', 'again', 6)
        await store.addBan('wallet:0xabc', 'wrong result', 7)
        expect(await store.isBanned('peer:p1')).toBe(true)
        expect(await store.countBans()).toBe(2)

        expect(await store.addFault('wallet:0xabc')).toBe(1)
        expect(await store.addFault('wallet:0xabc')).toBe(2)
        expect(await store.addFault('address:10.0.0.1')).toBe(1)
      }),
    )

    it(
      'keeps a blob once, byte for byte, and counts the bytes held',
      withStore(async (store) => {
        const bytes = new Uint8Array([0, 1, 2, 255, 0])
        const hash = 'b'.repeat(64)
        expect(await store.hasBlob(hash)).toBe(false)
        expect(await store.getBlob(hash)).toBeUndefined()
        expect(await store.putBlob(hash, bytes)).toBe(true)
        expect(await store.putBlob(hash, new Uint8Array([9]))).toBe(false)
        expect(await store.getBlob(hash)).toEqual(bytes)
        expect(await store.hasBlob(hash)).toBe(true)
        // A view into a larger buffer stores just its bytes.
        const big = new Uint8Array([7, 7, 1, 2, 3, 7])
        expect(await store.putBlob('c'.repeat(64), big.subarray(2, 5))).toBe(true)
        expect(await store.getBlob('c'.repeat(64))).toEqual(new Uint8Array([1, 2, 3]))
        expect(await store.blobBytes()).toBe(8)
      }),
    )

    it(
      'moves exact credits, refuses past 64 bits or a repeated ref, and changes nothing then',
      withStore(async (store) => {
        await store.transfer({
          from: 'treasury',
          to: 'owner',
          amount: INT64_MAX,
          kind: 'grant',
          at: 1,
        })
        await store.transfer({ from: 'owner', to: 'owner', amount: 0n, kind: 'grant', at: 1 })
        expect(await store.balance('owner')).toBe(INT64_MAX)
        expect(await store.balance('treasury')).toBe(-INT64_MAX)
        expect(await store.balance('nobody')).toBe(0n)
        await expect(
          store.transfer({ from: 'treasury', to: 'owner', amount: 1n, kind: 'grant', at: 2 }),
        ).rejects.toThrow(RangeError)
        await expect(
          store.transfer({ from: 'a', to: 'b', amount: -1n, kind: 'pay', at: 2 }),
        ).rejects.toThrow(RangeError)
        await expect(
          store.transfer({ from: 'a', to: 'b', amount: 1 as never, kind: 'pay', at: 2 }),
        ).rejects.toThrow(RangeError)
        expect(await store.balance('owner')).toBe(INT64_MAX)
        expect(await store.transferredTotal(['grant'])).toBe(INT64_MAX)

        await store.transfer({
          from: 'owner',
          to: 'escrow:j_1',
          amount: 60n,
          kind: 'escrow',
          jobId: 'j_1',
          at: 3,
        })
        await store.transfer({
          from: 'escrow:j_1',
          to: 'pending:peer:x:j_1',
          amount: 10n,
          kind: 'pay',
          jobId: 'j_1',
          at: 4,
          ref: 'pay:lease-1',
        })
        await expect(
          store.transfer({
            from: 'escrow:j_1',
            to: 'pending:peer:x:j_1',
            amount: 10n,
            kind: 'pay',
            jobId: 'j_1',
            at: 5,
            ref: 'pay:lease-1',
          }),
        ).rejects.toThrow(/unique/i)
        expect(await store.balance('pending:peer:x:j_1')).toBe(10n)
        expect(await store.balance('escrow:j_1')).toBe(50n)
        expect(await store.transferByRef('pay:lease-1')).toEqual({
          from: 'escrow:j_1',
          to: 'pending:peer:x:j_1',
          amount: 10n,
          kind: 'pay',
          jobId: 'j_1',
          at: 4,
          ref: 'pay:lease-1',
        })
        expect(await store.transferByRef('pay:lease-2')).toBeUndefined()
        expect(await store.ledgerImbalance()).toBe(0n)
      }),
    )

    it(
      'reads account prefixes literally, sums earnings and the running totals by kind',
      withStore(async (store) => {
        await store.transfer({ from: 'treasury', to: 'owner', amount: 100n, kind: 'grant', at: 1 })
        await store.transfer({
          from: 'owner',
          to: 'escrow:j',
          amount: 60n,
          kind: 'escrow',
          jobId: 'j',
          at: 1,
        })
        for (const [payee, amount, ref] of [
          ['peer:x', 10n, 'pay:1'],
          ['peer:%', 7n, 'pay:2'],
          ['peer:xy', 3n, 'pay:3'],
        ] as const)
          await store.transfer({
            from: 'escrow:j',
            to: `pending:${payee}:j`,
            amount,
            kind: 'pay',
            jobId: 'j',
            at: 2,
            ref,
          })
        expect(await store.balancesWithPrefix('pending:peer:%:')).toEqual([
          { account: 'pending:peer:%:j', balance: 7n },
        ])
        expect(await store.balancesWithPrefix('pending:peer:x')).toEqual([
          { account: 'pending:peer:x:j', balance: 10n },
          { account: 'pending:peer:xy:j', balance: 3n },
        ])
        await store.transfer({
          from: 'pending:peer:x:j',
          to: 'peer:x',
          amount: 9n,
          kind: 'payout',
          jobId: 'j',
          at: 3,
        })
        await store.transfer({
          from: 'pending:peer:x:j',
          to: '0xsite',
          amount: 1n,
          kind: 'site-share',
          jobId: 'j',
          at: 3,
        })
        await store.transfer({
          from: 'pending:peer:xy:j',
          to: 'peer:xy',
          amount: 3n,
          kind: 'payout',
          jobId: 'j',
          at: 3,
        })
        await store.transfer({
          from: 'pending:peer:%:j',
          to: 'escrow:j',
          amount: 7n,
          kind: 'forfeit',
          jobId: 'j',
          at: 3,
        })
        await store.transfer({
          from: 'escrow:j',
          to: 'owner',
          amount: 47n,
          kind: 'refund',
          jobId: 'j',
          at: 4,
        })
        // A zero balance is left out.
        expect(await store.balancesWithPrefix('pending:')).toEqual([])
        expect(await store.creditedTotal('peer:x', ['payout', 'site-share'])).toBe(9n)
        expect(await store.creditedTotal('peer:%', ['payout', 'site-share'])).toBe(0n)
        expect(await store.creditedTotals(['payout', 'site-share'], 'peer:')).toEqual([
          { account: 'peer:x', total: 9n },
          { account: 'peer:xy', total: 3n },
        ])
        expect(await store.creditedTotals(['payout', 'site-share'], '0x')).toEqual([
          { account: '0xsite', total: 1n },
        ])
        expect(await store.transferredTotal(['payout', 'site-share'])).toBe(13n)
        expect(await store.transferredTotal(['grant', 'escrow', 'refund'])).toBe(207n)
        expect(await store.transferredTotal([])).toBe(0n)
        await expect(store.transferredTotal(['pay'])).rejects.toThrow(RangeError)
        expect(await store.balance('owner')).toBe(87n)
        expect(await store.ledgerImbalance()).toBe(0n)
      }),
    )

    it(
      'lists who holds pending credit, by job, in one pass',
      withStore(async (store) => {
        const [job1, job2] = [
          '6f1c9f2e-0000-4000-8000-000000000001',
          '6f1c9f2e-0000-4000-8000-000000000002',
        ]
        await store.transfer({ from: 'treasury', to: 'owner', amount: 100n, kind: 'grant', at: 0 })
        for (const id of [job1, job2])
          await store.transfer({
            from: 'owner',
            to: `escrow:${id}`,
            amount: 50n,
            kind: 'escrow',
            jobId: id,
            at: 0,
          })
        const pay = (id: string, account: string, ref: string) =>
          store.transfer({
            from: `escrow:${id}`,
            to: account,
            amount: 5n,
            kind: 'pay',
            jobId: id,
            at: 0,
            ref,
          })
        await pay(job1, `pending:peer:a:b:${job1}`, 'pay:1')
        await pay(
          job1,
          `pending:0x00000000000000000000000000000000000000Aa:${job1}@0xsite`,
          'pay:2',
        )
        await pay(job2, `pending:peer:a:b:${job2}`, 'pay:3')
        await pay(job2, `pending:peer:gone:${job2}`, 'pay:4')
        await store.transfer({
          from: `pending:peer:gone:${job2}`,
          to: `escrow:${job2}`,
          amount: 5n,
          kind: 'forfeit',
          jobId: job2,
          at: 0,
        })
        expect(Object.fromEntries(await store.pendingPayees())).toEqual({
          [job1]: ['0x00000000000000000000000000000000000000Aa', 'peer:a:b'],
          [job2]: ['peer:a:b'],
        })
      }),
    )

    it(
      'counts compute per hour, takes back an undone acceptance, and totals it',
      withStore(async (store) => {
        const h = 1_700_000_000_000 - (1_700_000_000_000 % HOUR)
        expect(await store.computeHours(h, h + 5 * HOUR)).toEqual([])
        expect(await store.computeTotal()).toEqual({ gflop: 0, tasks: 0 })
        await store.addCompute(h, 1.5, 1)
        await store.addCompute(h, 2.25, 2)
        await store.addCompute(h + 2 * HOUR, 4, 1)
        await store.addCompute(h + 2 * HOUR, -4, -1)
        await store.addCompute(h + 3 * HOUR, 0.5, 1)
        expect(await store.computeHours(h, h + 2 * HOUR)).toEqual([
          { hour: h, gflop: 3.75, tasks: 3 },
          { hour: h + 2 * HOUR, gflop: 0, tasks: 0 },
        ])
        expect(await store.computeHours(h + HOUR, h + 3 * HOUR)).toMatchObject([
          { hour: h + 2 * HOUR },
          { hour: h + 3 * HOUR, gflop: 0.5, tasks: 1 },
        ])
        expect(await store.computeTotal()).toEqual({ gflop: 4.25, tasks: 4 })
      }),
    )
  })
}
