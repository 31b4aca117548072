import type pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { auxiliaryTables } from '../store/postgres/migrations/auxiliary-tables.ts'
import { applyPostgresMigrations } from '../store/postgres/postgres-migrations.ts'
import { createPostgresPool, withTransaction } from '../store/postgres/postgres-pool.ts'
import {
  type PostgresServer,
  startPostgresServer,
} from '../store/postgres/testing/postgres-server.ts'
import { createLeaderLease, LeaderFencedError, type LeaderLease } from './leader-lease.ts'

/**
 * The leader lease on a real PostgreSQL, each contender with a pool of its own (a
 * coordinator process each): one leads at a time, a silent leader is replaced after its
 * lease, and a replaced leader's fenced writes are refused.
 */

let server: PostgresServer
const pools: pg.Pool[] = []
const leases: LeaderLease[] = []

beforeAll(async () => {
  server = await startPostgresServer()
}, 120_000)

afterAll(async () => {
  await server?.stop()
})

afterEach(async () => {
  await Promise.all(leases.splice(0).map((lease) => lease.stop().catch(() => {})))
  await Promise.all(pools.splice(0).map((pool) => pool.end()))
})

/** A fresh database with migration 2 and one pool per contender. */
async function contenders(count: number, leaseMs: number, renewMs = Math.floor(leaseMs / 3)) {
  const url = await server.createDatabase()
  const opened = Array.from({ length: count }, () => createPostgresPool(url, { max: 2 }))
  pools.push(...opened)
  await applyPostgresMigrations(opened[0]!, [auxiliaryTables])
  const made = opened.map((pool, i) =>
    createLeaderLease(pool, {
      name: 'epoch-closer',
      coordinatorId: `coordinator-${i}`,
      leaseMs,
      renewMs,
    }),
  )
  leases.push(...made)
  return made.map((lease, i) => ({ lease, pool: opened[i]! }))
}

/** A write of the duty: fenced, then a row the test can count. */
async function fencedWrite(pool: pg.Pool, lease: LeaderLease): Promise<void> {
  await withTransaction(pool, async (client) => {
    await lease.fence(client)
    await client.query("UPDATE leader_leases SET owner = owner WHERE name = 'epoch-closer'")
  })
}

describe('leader lease', () => {
  it('of three contenders acquiring at once, exactly one leads', async () => {
    const all = await contenders(3, 10_000)
    const tokens = await Promise.all(all.map(({ lease }) => lease.acquire()))
    expect(tokens.filter((t) => t !== undefined)).toEqual([1n])
    expect(all.filter(({ lease }) => lease.isLeader())).toHaveLength(1)
    // Acquiring again changes nothing: the leader keeps its token, the others stay out.
    const again = await Promise.all(all.map(({ lease }) => lease.acquire()))
    expect(again).toEqual(tokens)
    const leader = all.find(({ lease }) => lease.isLeader())!
    await fencedWrite(leader.pool, leader.lease)
    for (const other of all.filter((c) => c !== leader))
      await expect(fencedWrite(other.pool, other.lease)).rejects.toBeInstanceOf(LeaderFencedError)
  })

  it('a leader that stops renewing loses the lease after leaseMs, and its fence then throws', async () => {
    const leaseMs = 600
    const [first, second] = await contenders(2, leaseMs)
    expect(await first!.lease.acquire()).toBe(1n)
    const heldAt = performance.now()
    // Before the lease lapses nobody else gets it.
    expect(await second!.lease.acquire()).toBeUndefined()
    expect(first!.lease.isLeader()).toBe(true)

    // The first stops renewing (paused, partitioned): the second takes over after leaseMs.
    await expect.poll(() => second!.lease.acquire(), { timeout: 5_000, interval: 50 }).toBe(2n)
    expect(performance.now() - heldAt).toBeGreaterThanOrEqual(leaseMs - 50)
    expect(first!.lease.isLeader()).toBe(false)
    expect(second!.lease.isLeader()).toBe(true)

    // The stale leader still believes it holds token 1: its fenced write is refused, the new one's passes.
    expect(first!.lease.token()).toBe(1n)
    const refused = fencedWrite(first!.pool, first!.lease)
    await expect(refused).rejects.toBeInstanceOf(LeaderFencedError)
    await expect(refused).rejects.toThrow(
      'lost the epoch-closer lease (token 1) to coordinator-1 (token 2)',
    )
    expect(first!.lease.token()).toBeUndefined()
    await fencedWrite(second!.pool, second!.lease)
    expect(await first!.lease.renew()).toBe(false)
  })

  it('a renewing leader keeps the lease past leaseMs; a released one is taken at once', async () => {
    const [first, second] = await contenders(2, 400)
    expect(await first!.lease.acquire()).toBe(1n)
    for (let i = 0; i < 6; i++) {
      await new Promise((resolve) => setTimeout(resolve, 130))
      expect(await first!.lease.renew()).toBe(true)
      expect(await second!.lease.acquire()).toBeUndefined()
    }
    await first!.lease.release()
    expect(first!.lease.isLeader()).toBe(false)
    expect(await second!.lease.acquire()).toBe(2n)
    await expect(fencedWrite(first!.pool, first!.lease)).rejects.toThrow(
      'does not hold the epoch-closer lease',
    )
  })

  it('a takeover waits for the fenced transaction in flight to end', async () => {
    const [first, second] = await contenders(2, 300)
    await first!.lease.acquire()
    let takenDuringWrite: bigint | undefined | 'pending' = 'pending'
    await withTransaction(first!.pool, async (client) => {
      await first!.lease.fence(client)
      await new Promise((resolve) => setTimeout(resolve, 400)) // the lease lapses meanwhile
      const attempt = second!.lease.acquire().then((token) => {
        takenDuringWrite = token
      })
      await new Promise((resolve) => setTimeout(resolve, 200))
      // The takeover is blocked on the row the fence locked.
      expect(takenDuringWrite).toBe('pending')
      void attempt
    })
    await expect.poll(() => takenDuringWrite).toBe(2n)
  })

  it('in the start loop, one of three leads; when it stops another takes over', async () => {
    const all = await contenders(3, 2_000, 200)
    for (const { lease } of all) lease.start()
    await expect
      .poll(() => all.filter(({ lease }) => lease.isLeader()).length, { timeout: 5_000 })
      .toBe(1)
    const leader = all.find(({ lease }) => lease.isLeader())!
    await leader.lease.stop()
    await expect
      .poll(() => all.filter((c) => c !== leader && c.lease.isLeader()).length, { timeout: 5_000 })
      .toBe(1)
    // Over a few renewal periods leadership stays put, with one leader.
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(all.filter(({ lease }) => lease.isLeader())).toHaveLength(1)
    }
  })

  it('refuses options that would lapse between renewals', () => {
    const pool = {} as pg.Pool
    expect(() =>
      createLeaderLease(pool, { name: 'x', coordinatorId: 'c', leaseMs: 100, renewMs: 100 }),
    ).toThrow('renewMs must be a positive whole number of ms under leaseMs')
    expect(() => createLeaderLease(pool, { name: '', coordinatorId: 'c' })).toThrow(
      'a lease name is 1-200 characters',
    )
  })
})
