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
        applied.push({ ...batch, entries: structuredClone(batch.entries) })
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

  it("discards a lost job's changes not yet sent, ships the rest, and rejects flushed() with the reason", async () => {
    const rec = recordingSink()
    const store = createWriteBehindStore({
      memory: createSqliteStore({ path: ':memory:' }),
      sink: rec.sink,
    })
    store.insertJob(job('kept'))
    store.insertJob(job('lost'))
    store.updateJob('lost', { acceptedTasks: 1 })
    const flushed = store.flushed()
    expect(store.discard(['lost'], new Error('the lease of job lost lapsed'))).toBe(2)
    await expect(flushed).rejects.toThrow('the lease of job lost lapsed')
    await store.drain()
    expect(ops(rec.applied)).toEqual(['insertJob:kept'])
    // Nothing of it left: a discard of only its changes settles the waiters at once.
    store.updateJob('lost', { acceptedTasks: 2 })
    const alone = store.flushed()
    expect(store.discard(['lost'], new Error('lapsed again'))).toBe(1)
    await expect(alone).rejects.toThrow('lapsed again')
    await store.drain()
    expect(ops(rec.applied)).toEqual(['insertJob:kept'])
    store.close()
  })

  it('leaves a job discarded while its batch is in flight out of the next attempt, without reporting it lost twice when the fence refuses the attempt in the air', async () => {
    const rec = recordingSink()
    const lost: string[] = []
    let tokens = new Map([
      ['lost', 1n],
      ['kept', 1n],
    ])
    const store = createWriteBehindStore({
      memory: createSqliteStore({ path: ':memory:' }),
      sink: rec.sink,
      retryMs: 5,
      fenceTokens: () => tokens,
      onLost: (jobs) => lost.push(...jobs),
    })
    // The first attempt is in the air when the job is lost; it comes back fenced (the job
    // was taken back meanwhile, at a new token).
    let attempt = 0
    let discarded!: () => void
    const discardedNow = new Promise<void>((resolve) => {
      discarded = resolve
    })
    rec.sink.apply = async (batch: JournalBatch) => {
      rec.attempts.push(batch.id)
      if (attempt++ === 0) {
        await discardedNow
        throw new FencedError('lost', 'job lost is held at token 2')
      }
      rec.applied.push({ ...batch, entries: structuredClone(batch.entries) })
    }
    store.transaction(() => {
      store.updateJob('kept', { acceptedTasks: 1 })
      store.updateJob('lost', { acceptedTasks: 1 })
    })
    const flushed = store.flushed()
    await new Promise((resolve) => setImmediate(resolve))
    expect(rec.attempts).toEqual([1])
    store.discard(['lost'], new Error('the lease of job lost lapsed'))
    tokens = new Map([
      ['lost', 2n],
      ['kept', 1n],
    ])
    discarded()
    await expect(flushed).rejects.toThrow()
    expect(lost).toEqual([])
    expect(ops(rec.applied)).toEqual(['updateJob:kept'])
    // Fenced at the tokens of its cut, on every attempt: not at those held now.
    expect(rec.applied[0]?.tokens?.get('lost')).toBe(1n)
    // Changes made after it was taken back go out under the new token.
    store.updateJob('lost', { acceptedTasks: 5 })
    await store.flushed()
    expect(ops(rec.applied.slice(1))).toEqual(['updateJob:lost'])
    expect(rec.applied[1]?.tokens?.get('lost')).toBe(2n)
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
