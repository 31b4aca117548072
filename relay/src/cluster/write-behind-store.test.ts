import { describe, expect, it } from 'vitest'
import type { StoredJob } from '../store/coordinator-store.ts'
import { createSqliteStore } from '../store/sqlite-store.ts'
import type { JournalEntry } from '../store/store-journal.ts'
import { FencedError } from './job-ownership.ts'
import { createWriteBehindStore, type JournalBatch, jobOfEntry } from './write-behind-store.ts'

function job(id: string): StoredJob {
  return {
    id,
    seq: 0,
    owner: 'researcher',
    spec: { kernel: 'matmul' } as never,
    kernel: 'matmul',
    status: 'running',
    priority: 1,
    totalTasks: 4,
    acceptedTasks: 0,
    rejectedResults: 0,
    taskCredits: 1n,
    budget: 4n,
    spent: 0n,
    refunded: 0n,
    createdAt: 0,
  }
}

/** A sink that keeps what it was given, failing as a test tells it to. */
function recordingSink() {
  const applied: JournalBatch[] = []
  const attempts: number[] = []
  let fail: ((batch: JournalBatch) => Error | undefined) | undefined
  return {
    applied,
    attempts,
    failWith(f: typeof fail) {
      fail = f
    },
    sink: {
      async apply(batch: JournalBatch) {
        attempts.push(batch.id)
        await new Promise((r) => setTimeout(r, 1))
        const err = fail?.(batch)
        if (err != null) throw err
        applied.push({ id: batch.id, entries: structuredClone(batch.entries) })
      },
    },
  }
}

const ops = (batches: readonly JournalBatch[]) =>
  batches.flatMap((b) => b.entries.map((e) => `${e.op}:${jobOfEntry(e) ?? '-'}`))

describe('write-behind store', () => {
  it('answers from memory and ships each committed unit, in order, before flushed() resolves', async () => {
    const rec = recordingSink()
    const store = createWriteBehindStore({
      memory: createSqliteStore({ path: ':memory:' }),
      sink: rec.sink,
    })
    const row = job('a')
    store.transaction(() => {
      store.insertJob(row)
      store.transfer({
        from: 'researcher',
        to: 'escrow:a',
        amount: 4n,
        kind: 'escrow',
        jobId: 'a',
        at: 1,
      })
    })
    // The row was mutated after the call: the journal holds it as it was written.
    row.status = 'completed'
    expect(store.getJob('a')?.status).toBe('running')
    expect(store.balance('escrow:a')).toBe(4n)
    expect(store.backlog()).toBe(2)
    await store.flushed()
    expect(ops(rec.applied)).toEqual(['insertJob:a', 'transfer:a'])
    const insert = rec.applied[0]?.entries[0] as Extract<JournalEntry, { op: 'insertJob' }>
    expect(insert.args[0].status).toBe('running')
    expect(insert.args[0].seq).toBeGreaterThan(0)
    const seq = store.insertResult({
      jobId: 'a',
      taskIndex: 0,
      taskId: 't0',
      leaseId: 'l0',
      payee: 'p',
      peerId: 'p',
      outputs: [],
      method: 'freivalds',
      acceptedAt: 2,
    })
    await store.flushed()
    const result = rec.applied.at(-1)?.entries[0] as Extract<JournalEntry, { op: 'insertResult' }>
    expect(result.result).toBe(seq)
    expect(store.backlog()).toBe(0)
    store.close()
  })

  it('records nothing of a unit that throws, and nothing written quietly', async () => {
    const rec = recordingSink()
    const store = createWriteBehindStore({
      memory: createSqliteStore({ path: ':memory:' }),
      sink: rec.sink,
    })
    expect(() =>
      store.transaction(() => {
        store.insertJob(job('x'))
        throw new Error('refused')
      }),
    ).toThrow('refused')
    store.quietly((m) => m.insertJob(job('from-db')))
    expect(store.getJob('x')).toBeUndefined()
    expect(store.getJob('from-db')?.id).toBe('from-db')
    expect(store.backlog()).toBe(0)
    store.insertJob(job('y'))
    await store.flushed()
    expect(ops(rec.applied)).toEqual(['insertJob:y'])
    store.close()
  })

  it("drops a fenced job's changes, applies the rest, reports the job lost and rejects flushed()", async () => {
    const rec = recordingSink()
    const lost: string[] = []
    const store = createWriteBehindStore({
      memory: createSqliteStore({ path: ':memory:' }),
      sink: rec.sink,
      onLost: (jobs) => lost.push(...jobs),
    })
    rec.failWith((batch) =>
      batch.entries.some((e) => jobOfEntry(e) === 'stolen')
        ? new FencedError('stolen', 'job stolen is owned by c2 now')
        : undefined,
    )
    store.insertJob(job('stolen'))
    store.insertJob(job('mine'))
    store.addBan('peer:x', 'lied', 1)
    await expect(store.flushed()).rejects.toThrow(FencedError)
    expect(lost).toEqual(['stolen'])
    expect(ops(rec.applied)).toEqual(['insertJob:mine', 'addBan:-'])
    // The same batch id on the retry: a sink can tell a retry from a new batch.
    expect(new Set(rec.attempts).size).toBe(1)
    store.close()
  })

  it('retries a transient failure with the same batch id until the database takes it', async () => {
    const rec = recordingSink()
    const store = createWriteBehindStore({
      memory: createSqliteStore({ path: ':memory:' }),
      sink: rec.sink,
      retryMs: 5,
    })
    let failures = 3
    rec.failWith(() =>
      failures-- > 0
        ? Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
        : undefined,
    )
    store.insertJob(job('a'))
    await store.flushed()
    expect(rec.attempts).toEqual([1, 1, 1, 1])
    expect(ops(rec.applied)).toEqual(['insertJob:a'])
    store.close()
  })

  it('keeps a refused change to one job from costing the others theirs', async () => {
    const rec = recordingSink()
    const lost: string[] = []
    const store = createWriteBehindStore({
      memory: createSqliteStore({ path: ':memory:' }),
      sink: rec.sink,
      onLost: (jobs) => lost.push(...jobs),
    })
    rec.failWith((batch) =>
      batch.entries.some((e) => jobOfEntry(e) === 'bad')
        ? Object.assign(new Error('duplicate key value violates unique constraint'), {
            code: '23505',
          })
        : undefined,
    )
    store.insertJob(job('good'))
    store.insertJob(job('bad'))
    await expect(store.flushed()).rejects.toThrow('duplicate key')
    expect(lost).toEqual(['bad'])
    expect(ops(rec.applied)).toEqual(['insertJob:good'])
    store.close()
  })

  it('refuses new units once the backlog is full, naming why', async () => {
    const rec = recordingSink()
    const store = createWriteBehindStore({
      memory: createSqliteStore({ path: ':memory:' }),
      sink: rec.sink,
      maxBacklog: 2,
      retryMs: 5,
    })
    rec.failWith(() => Object.assign(new Error('Connection terminated unexpectedly')))
    store.addBan('peer:a', 'x', 1)
    store.addBan('peer:b', 'x', 1)
    expect(() => store.addBan('peer:c', 'x', 1)).toThrow(
      /has not taken this relay's last 2 changes/,
    )
    rec.failWith(undefined)
    await store.drain()
    expect(ops(rec.applied)).toEqual(['addBan:-', 'addBan:-'])
    store.close()
  })
})
