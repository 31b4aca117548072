import type pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEpoch } from '../../settlement/epoch-store.ts'
import type { CoordinatorStore } from '../coordinator-store.ts'
import { createSqliteStore } from '../sqlite-store.ts'
import type { JournalEntry } from '../store-journal.ts'
import { auxiliaryTables } from './migrations/auxiliary-tables.ts'
import {
  applyAuxiliaryEntry,
  createPostgresAuxiliaryStore,
  type PostgresAuxiliaryStore,
} from './postgres-auxiliary-store.ts'
import { applyPostgresMigrations } from './postgres-migrations.ts'
import { createPostgresPool, withTransaction } from './postgres-pool.ts'
import { type PostgresServer, startPostgresServer } from './testing/postgres-server.ts'

/**
 * Nonces, wallet sessions and epochs on a real PostgreSQL: the contract every store keeps
 * (run against the SQLite store too, so the two answer alike), then what only a shared
 * database must do: concurrent claims from two pools, expired nonces reclaimed, racing
 * epoch closers, journal entries applied inside a transaction.
 */

let server: PostgresServer
const pools: pg.Pool[] = []

beforeAll(async () => {
  server = await startPostgresServer()
}, 120_000)

afterAll(async () => {
  await server?.stop()
})

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.end()))
})

/** A fresh database with migration 2, and `count` pools on it (two relays). */
async function freshDatabase(count = 1): Promise<pg.Pool[]> {
  const url = await server.createDatabase()
  const opened = Array.from({ length: count }, () => createPostgresPool(url, { max: 4 }))
  pools.push(...opened)
  await applyPostgresMigrations(opened[0]!, [auxiliaryTables])
  return opened
}

/** The operations both stores share, awaited. */
type AuxiliaryContract = PostgresAuxiliaryStore

/** The SQLite store behind the same asynchronous face. */
function sqliteContract(): AuxiliaryContract {
  const store = createSqliteStore({ path: ':memory:' })
  const wrapped = {} as Record<string, unknown>
  for (const op of Object.keys(createEmptyContract()))
    wrapped[op] = async (...args: unknown[]) =>
      (store[op as keyof CoordinatorStore] as (...a: unknown[]) => unknown)(...args)
  return wrapped as unknown as AuxiliaryContract
}

/** The list of operations, from a store over nothing (never queried). */
function createEmptyContract() {
  return createPostgresAuxiliaryStore({} as pg.Pool)
}

const implementations: Array<[string, () => Promise<AuxiliaryContract>]> = [
  ['SQLite', async () => sqliteContract()],
  ['PostgreSQL', async () => createPostgresAuxiliaryStore((await freshDatabase())[0]!)],
]

const epochInput = (epoch: number, cumulativeTotal = 10n ** 30n + BigInt(epoch)) => ({
  epoch,
  root: `0x${epoch.toString(16).padStart(64, '0')}` as const,
  cumulativeTotal,
  leaves: epoch * 2,
  tree: JSON.stringify({ format: 'standard-v1', epoch }),
  closedAt: 1_700_000_000_000 + epoch,
})

describe.each(implementations)('%s auxiliary store contract', (_name, open) => {
  it('claims a nonce once, and again only after it was pruned', async () => {
    const store = await open()
    const expiresAt = Date.now() + 60_000
    expect(await store.claimNonce('0xA/nonce-1', expiresAt)).toBe(true)
    expect(await store.claimNonce('0xA/nonce-1', expiresAt)).toBe(false)
    expect(await store.nonceUsed('0xA/nonce-1')).toBe(true)
    expect(await store.nonceUsed('0xA/nonce-2')).toBe(false)
    expect(await store.claimNonce('0xA/nonce-2', expiresAt + 5)).toBe(true)
    expect(await store.countNonces()).toBe(2)
    expect(await store.pruneNonces(expiresAt - 1)).toBe(0)
    expect(await store.pruneNonces(expiresAt)).toBe(1)
    expect(await store.countNonces()).toBe(1)
    expect(await store.nonceUsed('0xA/nonce-1')).toBe(false)
    expect(await store.claimNonce('0xA/nonce-1', expiresAt + 10)).toBe(true)
  })

  it('keeps wallet sessions by token hash, lists live ones oldest first, prunes expired', async () => {
    const store = await open()
    const session = (token: string, account: string, createdAt: number, expiresAt: number) => ({
      tokenSha256: token.repeat(64),
      account,
      createdAt,
      expiresAt,
    })
    await store.insertSession(session('c', '0xAlice', 300, 5_000))
    await store.insertSession(session('a', '0xAlice', 100, 1_000))
    await store.insertSession(session('b', '0xAlice', 200, 9_000))
    await store.insertSession(session('d', '0xBob', 100, 9_000))
    expect(await store.sessionByToken('a'.repeat(64))).toEqual(session('a', '0xAlice', 100, 1_000))
    expect(await store.sessionByToken('e'.repeat(64))).toBeUndefined()
    expect((await store.liveSessions('0xAlice', 1_000)).map((s) => s.tokenSha256[0])).toEqual([
      'b',
      'c',
    ])
    expect((await store.liveSessions('0xAlice', 0)).map((s) => s.createdAt)).toEqual([
      100, 200, 300,
    ])
    expect(await store.deleteSession('c'.repeat(64))).toBe(true)
    expect(await store.deleteSession('c'.repeat(64))).toBe(false)
    expect(await store.sessionByToken('c'.repeat(64))).toBeUndefined()
    expect(await store.pruneSessions(1_000)).toBe(1)
    expect(await store.sessionByToken('a'.repeat(64))).toBeUndefined()
    expect(await store.liveSessions('0xBob', 8_999)).toHaveLength(1)
  })

  it('numbers epochs in order, follows each through sent, built and confirmed, pages them', async () => {
    const store = await open()
    expect(await store.latestEpoch()).toBeUndefined()
    await store.insertEpoch(epochInput(1))
    await expect(store.insertEpoch(epochInput(3))).rejects.toThrow(
      "epoch 3 is not the next one: the store's latest is 1",
    )
    await expect(store.insertEpoch(epochInput(1))).rejects.toThrow(RangeError)
    // A uint256 far past 2^64 comes back exact.
    const huge = 2n ** 255n + 12345n
    await store.insertEpoch(epochInput(2, huge))
    await store.insertEpoch(epochInput(3))

    const tx = { raw: '0xf86b01' as const, hash: `0x${'ab'.repeat(32)}` as const }
    await store.markEpochSent(1, tx, 1_700_000_100_000)
    await store.markEpochConfirmed(1, 1_700_000_200_000)
    await store.markEpochSent(2, tx, 1_700_000_300_000)
    await store.markEpochBuilt(2)

    const first = await store.getEpoch(1)
    expect(first).toEqual({
      ...epochInput(1),
      state: 'confirmed',
      rawTx: tx.raw,
      txHash: tx.hash,
      sentAt: 1_700_000_100_000,
      confirmedAt: 1_700_000_200_000,
    } satisfies StoredEpoch)
    expect(await store.getEpoch(2)).toMatchObject({
      cumulativeTotal: huge,
      state: 'built',
      rawTx: null,
      txHash: null,
      sentAt: null,
      confirmedAt: null,
    })
    expect(await store.getEpoch(4)).toBeUndefined()
    expect((await store.latestEpoch())?.epoch).toBe(3)
    expect((await store.latestConfirmedEpoch())?.epoch).toBe(1)

    const page = await store.listEpochs({ limit: 2 })
    expect(page.map((e) => e.epoch)).toEqual([3, 2])
    expect(page[0]).not.toHaveProperty('tree')
    expect((await store.listEpochs({ limit: 2, before: 2 })).map((e) => e.epoch)).toEqual([1])
  })
})

describe('PostgreSQL auxiliary store, shared by several relays', () => {
  it('of two pools claiming the same nonces at once, exactly one wins each', async () => {
    const [a, b] = await freshDatabase(2)
    const relayA = createPostgresAuxiliaryStore(a!)
    const relayB = createPostgresAuxiliaryStore(b!)
    const expiresAt = Date.now() + 60_000
    const keys = Array.from({ length: 40 }, (_, i) => `0xWallet/nonce-${i}`)
    // Each key claimed three times by each relay, all in flight together, who asks first alternating.
    const claims = keys.flatMap((key, k) =>
      (k % 2 === 0 ? [relayA, relayB] : [relayB, relayA]).flatMap((store) =>
        [1, 2, 3].map(async () => ({ key, won: await store.claimNonce(key, expiresAt) })),
      ),
    )
    const results = await Promise.all(claims)
    for (const key of keys) expect(results.filter((r) => r.key === key && r.won)).toHaveLength(1)
    expect(await relayB.countNonces()).toBe(keys.length)
  })

  it('a claim racing one not yet committed on another connection waits for it, and loses only if it commits', async () => {
    const [a, b] = await freshDatabase(2)
    const relayA = createPostgresAuxiliaryStore(a!)
    const relayB = createPostgresAuxiliaryStore(b!)
    const expiresAt = Date.now() + 60_000
    for (const outcome of ['commit', 'rollback'] as const) {
      const key = `0xWallet/${outcome}`
      let racing: Promise<boolean> | undefined
      await withTransaction(a!, async (client) => {
        expect(await relayA.claimNonce(key, expiresAt, { client })).toBe(true)
        racing = relayB.claimNonce(key, expiresAt)
        // Blocked on the uncommitted row: still unanswered a while later.
        const early = await Promise.race([
          racing,
          new Promise((resolve) => setTimeout(() => resolve('waiting'), 200)),
        ])
        expect(early).toBe('waiting')
        if (outcome === 'rollback') throw new Error('rolled back')
      }).catch((err: Error) => {
        if (err.message !== 'rolled back') throw err
      })
      expect(await racing).toBe(outcome === 'rollback')
    }
  })

  it('reclaims an expired nonce without waiting for a prune, once, and not a live one', async () => {
    const [a, b] = await freshDatabase(2)
    let clock = 1_000_000
    const relayA = createPostgresAuxiliaryStore(a!, { now: () => clock })
    const relayB = createPostgresAuxiliaryStore(b!, { now: () => clock })
    expect(await relayA.claimNonce('k', clock + 500)).toBe(true)
    clock += 499
    expect(await relayB.nonceUsed('k')).toBe(true)
    expect(await relayB.claimNonce('k', clock + 500)).toBe(false)
    clock += 1
    expect(await relayB.nonceUsed('k')).toBe(false)
    const reclaims = await Promise.all([
      relayA.claimNonce('k', clock + 500),
      relayB.claimNonce('k', clock + 500),
      relayA.claimNonce('k', clock + 500),
      relayB.claimNonce('k', clock + 500),
    ])
    expect(reclaims.filter(Boolean)).toHaveLength(1)
    expect(await relayA.nonceUsed('k')).toBe(true)
    expect(await relayA.countNonces()).toBe(1)
  })

  it('lets one of two closers racing on the same epoch number insert it', async () => {
    const [a, b] = await freshDatabase(2)
    const closers = [createPostgresAuxiliaryStore(a!), createPostgresAuxiliaryStore(b!)]
    const outcomes = await Promise.allSettled(
      closers.map((store, i) => store.insertEpoch({ ...epochInput(1), leaves: i + 1 })),
    )
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1)
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult
    expect(refused.reason).toBeInstanceOf(RangeError)
    expect(String(refused.reason)).toContain("epoch 1 is not the next one: the store's latest is 1")
  })

  it('writes inside the caller’s transaction: nothing of a rolled-back one remains', async () => {
    const [pool] = await freshDatabase()
    const store = createPostgresAuxiliaryStore(pool!)
    await expect(
      withTransaction(pool!, async (client) => {
        expect(await store.claimNonce('rolled-back', Date.now() + 60_000, { client })).toBe(true)
        await store.insertEpoch(epochInput(1), { client })
        throw new Error('the group commit failed')
      }),
    ).rejects.toThrow('the group commit failed')
    expect(await store.nonceUsed('rolled-back')).toBe(false)
    expect(await store.latestEpoch()).toBeUndefined()
  })

  it('refuses at once on an aborted signal, and unblocks a waiting claim when aborted', async () => {
    const [pool] = await freshDatabase(1)
    const store = createPostgresAuxiliaryStore(pool!)
    await expect(
      store.countNonces({ signal: AbortSignal.abort(new Error('gone')) }),
    ).rejects.toThrow('gone')
    // A transaction holds the key's row lock; a claim of it waits, until its signal ends it.
    await withTransaction(pool!, async (client) => {
      await store.claimNonce('locked', Date.now() + 60_000, { client })
      const controller = new AbortController()
      const waiting = store.claimNonce('locked', Date.now() + 60_000, { signal: controller.signal })
      setTimeout(() => controller.abort(new Error('the request was cancelled')), 100)
      await expect(waiting).rejects.toThrow('the request was cancelled')
    })
    expect(await store.nonceUsed('locked')).toBe(true)
  })

  it('applies journal entries recorded by the in-memory store, in one transaction', async () => {
    const [pool] = await freshDatabase()
    const memory = createSqliteStore({ path: ':memory:' })
    const journal: JournalEntry[] = []
    const record = <K extends JournalEntry['op']>(
      op: K,
      ...args: Parameters<CoordinatorStore[K]>
    ) => {
      const result = (memory[op] as (...a: unknown[]) => unknown)(...args)
      journal.push({ op, args, result } as JournalEntry)
    }
    const at = 1_700_000_000_000
    const tx = { raw: '0x01' as const, hash: `0x${'cd'.repeat(32)}` as const }
    record('claimNonce', 'n1', at + 1_000)
    record('claimNonce', 'n1', at + 2_000) // refused in memory: writes nothing
    record('claimNonce', 'n2', at + 10)
    record('pruneNonces', at + 10)
    record('insertSession', {
      tokenSha256: 'f'.repeat(64),
      account: '0xA',
      createdAt: at,
      expiresAt: at + 5,
    })
    record('insertSession', {
      tokenSha256: 'e'.repeat(64),
      account: '0xA',
      createdAt: at,
      expiresAt: at + 50,
    })
    record('deleteSession', 'e'.repeat(64))
    record('insertSession', {
      tokenSha256: 'd'.repeat(64),
      account: '0xB',
      createdAt: at,
      expiresAt: at + 1,
    })
    record('pruneSessions', at + 1)
    record('insertEpoch', epochInput(1))
    record('markEpochSent', 1, tx, at + 100)
    record('markEpochBuilt', 1)
    record('markEpochSent', 1, tx, at + 200)
    record('markEpochConfirmed', 1, at + 300)
    record('insertEpoch', epochInput(2, 2n ** 200n))

    await withTransaction(pool!, async (client) => {
      for (const entry of journal) await applyAuxiliaryEntry(client, entry)
    })

    const shared = createPostgresAuxiliaryStore(pool!, { now: () => at })
    expect(await shared.countNonces()).toBe(memory.countNonces())
    expect(await shared.nonceUsed('n1')).toBe(true)
    expect(await shared.nonceUsed('n2')).toBe(false)
    expect(await shared.liveSessions('0xA', 0)).toEqual(memory.liveSessions('0xA', 0))
    expect(await shared.liveSessions('0xB', 0)).toEqual([])
    expect(await shared.getEpoch(1)).toEqual(memory.getEpoch(1))
    expect(await shared.getEpoch(2)).toEqual(memory.getEpoch(2))

    // A stale journal (an epoch number already taken) fails its whole transaction.
    await expect(
      withTransaction(pool!, async (client) => {
        await applyAuxiliaryEntry(client, {
          op: 'claimNonce',
          args: ['n3', at + 1_000],
          result: true,
        })
        await applyAuxiliaryEntry(client, {
          op: 'insertEpoch',
          args: [epochInput(2)],
          result: undefined,
        })
      }),
    ).rejects.toThrow("epoch 2 is not the next one: the store's latest is 2")
    expect(await shared.nonceUsed('n3')).toBe(false)
  })

  it('refuses an entry of the core store, naming where it belongs', async () => {
    const [pool] = await freshDatabase()
    await withTransaction(pool!, async (client) => {
      await expect(
        applyAuxiliaryEntry(client, {
          op: 'addBan',
          args: ['peer', 'why', 1],
          result: undefined,
        } as unknown as JournalEntry),
      ).rejects.toThrow("addBan belongs to the core store's applyJournal")
    })
  })
})
