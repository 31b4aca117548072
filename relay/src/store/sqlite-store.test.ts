import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, describe, expect, it } from 'vitest'
import { createSqliteStore } from './sqlite-store.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempDb() {
  const dir = mkdtempSync(join(tmpdir(), 'store-'))
  dirs.push(dir)
  return join(dir, 'coordinator.db')
}

/**
 * What only the embedded store does: a file kept across a reopen, its migrations, group
 * commit, and the nonces it keeps. What every store does is the contract suite
 * (`coordinator-store.contract.ts`, run on SQLite and PostgreSQL by `coordinator-store.test.ts`).
 */
describe('SQLite coordinator store', () => {
  it('keeps a provisional result hidden across a reopen, confirms it under a new seq, and migrates an old results table', () => {
    const path = tempDb()
    // A data directory from before provisional results: its table lacks the column.
    const old = new DatabaseSync(path)
    old.exec(`CREATE TABLE results (seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL,
      task_index INTEGER NOT NULL, task_id TEXT NOT NULL, lease_id TEXT NOT NULL UNIQUE,
      payee TEXT NOT NULL, peer_id TEXT NOT NULL, outputs TEXT NOT NULL, method TEXT NOT NULL,
      accepted_at INTEGER NOT NULL, UNIQUE (job_id, task_index))`)
    old.close()
    const store = createSqliteStore({ path })
    store.insertJob({
      id: 'j',
      seq: 0,
      owner: 'o',
      spec: { kernel: 'matmul' } as never,
      kernel: 'matmul',
      status: 'running',
      priority: 1,
      totalTasks: 2,
      acceptedTasks: 2,
      rejectedResults: 0,
      taskCredits: 1n,
      budget: 2n,
      spent: 2n,
      refunded: 0n,
      createdAt: 0,
    })
    const result = (taskIndex: number, provisional: boolean) => ({
      jobId: 'j',
      taskIndex,
      taskId: `t${taskIndex}`,
      leaseId: `l${taskIndex}`,
      payee: 'p',
      peerId: 'p',
      outputs: [],
      method: provisional ? ('trusted' as const) : ('spot-check' as const),
      acceptedAt: 1,
      ...(provisional ? { provisional: true as const } : {}),
    })
    const trusted = store.insertResult(result(0, true))
    const checked = store.insertResult(result(1, false))
    store.close()

    const reopened = createSqliteStore({ path })
    expect(reopened.results('j', 0, 10).map((r) => r.seq)).toEqual([checked])
    expect(reopened.provisionalResults('j')).toMatchObject([{ taskIndex: 0, seq: trusted }])
    expect(reopened.resultByLease('l0')).toMatchObject({ provisional: true })
    const confirmed = reopened.confirmResult('j', 0)!
    expect(confirmed).toBeGreaterThan(checked)
    expect(reopened.results('j', checked, 10)).toMatchObject([{ seq: confirmed, index: 0 }])
    expect(reopened.provisionalResults('j')).toEqual([])
    expect(reopened.confirmResult('j', 0)).toBeUndefined()
    expect(reopened.deleteResult('j', 1)).toBe(true)
    expect(reopened.acceptedTasks('j')).toEqual([0])
    reopened.close()
  })

  it('claims a nonce once, keeps it across a reopen, and prunes it at its expiry', () => {
    const path = tempDb()
    const store = createSqliteStore({ path })
    expect(store.claimNonce('0xabc/nonce-1', 1_000)).toBe(true)
    expect(store.claimNonce('0xabc/nonce-1', 2_000)).toBe(false)
    expect(store.claimNonce('0xabc/nonce-2', 5_000)).toBe(true)
    store.close()
    const reopened = createSqliteStore({ path })
    expect(reopened.nonceUsed('0xabc/nonce-1')).toBe(true)
    expect(reopened.claimNonce('0xabc/nonce-1', 2_000)).toBe(false)
    expect(reopened.pruneNonces(999)).toBe(0)
    expect(reopened.pruneNonces(1_000)).toBe(1)
    expect(reopened.nonceUsed('0xabc/nonce-1')).toBe(false)
    expect(reopened.countNonces()).toBe(1)
    reopened.close()
  })

  it('rolls back a failing unit of work and keeps the units around it', async () => {
    const path = tempDb()
    const store = createSqliteStore({ path })
    store.transfer({ from: 'treasury', to: 'a', amount: 5n, kind: 'grant', at: 1 })
    expect(() =>
      store.transaction(() => {
        store.transfer({ from: 'a', to: 'b', amount: 3n, kind: 'pay', at: 2 })
        throw new Error('half-way')
      }),
    ).toThrow('half-way')
    store.transaction(() => store.transfer({ from: 'a', to: 'c', amount: 1n, kind: 'pay', at: 3 }))
    await store.flushed()
    store.close()
    const reopened = createSqliteStore({ path })
    expect([reopened.balance('a'), reopened.balance('b'), reopened.balance('c')]).toEqual([
      4n,
      0n,
      1n,
    ])
    expect(reopened.ledgerImbalance()).toBe(0n)
    reopened.close()
  })

  it('loses an uncommitted group only, never half a unit', async () => {
    const path = tempDb()
    const store = createSqliteStore({ path })
    store.transfer({ from: 'treasury', to: 'a', amount: 5n, kind: 'grant', at: 1 })
    await store.flushed()
    store.transfer({ from: 'a', to: 'b', amount: 2n, kind: 'pay', at: 2 })
    // A second connection sees only what is committed, as a restarted process would.
    const other = createSqliteStore({ path })
    expect([other.balance('a'), other.balance('b')]).toEqual([5n, 0n])
    await store.flushed()
    expect([other.balance('a'), other.balance('b')]).toEqual([3n, 2n])
    other.close()
    store.close()
  })

  it('gives every caller of flushed() in one commit group the same promise', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const idle = store.flushed()
    store.transfer({ from: 'treasury', to: 'a', amount: 5n, kind: 'grant', at: 1 })
    const first = store.flushed()
    store.transfer({ from: 'treasury', to: 'a', amount: 5n, kind: 'grant', at: 2 })
    expect(store.flushed()).toBe(first)
    expect(first).not.toBe(idle)
    await first
    store.transfer({ from: 'treasury', to: 'b', amount: 1n, kind: 'grant', at: 3 })
    const second = store.flushed()
    expect(second).not.toBe(first)
    await second
    expect(store.balance('b')).toBe(1n)
    store.close()
  })
})
