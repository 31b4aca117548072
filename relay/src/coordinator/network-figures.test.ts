import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, describe, expect, it } from 'vitest'
import { createLedger } from '../ledger/ledger.ts'
import { createSqliteStore } from '../store/sqlite-store.ts'
import { createCoordinator } from './coordinator.ts'
import { HOUR_MS } from './jobs/compute-tally.ts'
import { caps, fakeClock, matrices, submitHonest } from './testing/coordinator-fixture.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})
const tempDb = () => {
  const dir = mkdtempSync(join(tmpdir(), 'figures-'))
  dirs.push(dir)
  return join(dir, 'coordinator.db')
}

describe('coordinator: the public figures', () => {
  it('counts accepted compute per UTC hour and credits paid, durably across a restart', async () => {
    const path = tempDb()
    // 10 minutes into an hour.
    const clock = fakeClock(1_800_000_000_000 - (1_800_000_000_000 % HOUR_MS) + 600_000)
    const open = () =>
      createCoordinator({
        store: createSqliteStore({ path }),
        clock,
        tileSize: 8,
        welcomeCredits: 10n ** 9n,
      })
    const c = open()
    c.registerContributor('fast', { capabilities: caps, gflops: 50 })
    c.registerContributor('slow', { capabilities: caps, gflops: 30 })
    // No benchmark: online, and counted, but its assumed speed is not a measurement.
    c.registerContributor('silent', { capabilities: caps })
    // 16×8×16 in 8-tiles: 4 tasks of 2·8·8·8 flops.
    const job = c.submitMatmul(matrices(16, 8, 16))
    for (let turn = 0; turn < 40; turn++) {
      const peer = turn % 2 === 0 ? 'fast' : 'slow'
      const grant = c.lease(peer)
      if (grant != null) submitHonest(c, peer, grant)
    }
    await c.durable()
    const done = await c.getJob(job.id)
    expect(done.status).toBe('completed')

    const figures = c.networkFigures(24)
    expect(figures.contributors).toEqual({ online: 3, gflopPerSecond: 80 })
    expect(figures.compute.tasks).toBe(4)
    expect(figures.compute.totalGflop).toBeCloseTo((4 * 2 * 8 * 8 * 8) / 1e9, 15)
    expect(figures.compute.hourly).toHaveLength(24)
    const thisHour = clock.now() - (clock.now() % HOUR_MS)
    expect(figures.compute.hourly.at(-1)).toEqual({
      hour: thisHour,
      gflop: figures.compute.totalGflop,
      tasks: 4,
    })
    expect(figures.compute.hourly.slice(0, -1).every((h) => h.gflop === 0 && h.tasks === 0)).toBe(
      true,
    )
    expect(figures.compute.hourly[0]!.hour).toBe(thisHour - 23 * HOUR_MS)
    expect(figures.jobs).toEqual({
      total: 1,
      byStatus: { running: 0, completed: 1, failed: 0, cancelled: 0 },
    })
    // Everything spent on the job reached its contributors.
    expect(figures.creditsPaid).toBe(BigInt(done.credits.spent))
    expect(figures.creditsPaid).toBeGreaterThan(0n)
    c.close()

    // Two hours later, after a restart: the same totals, the work two hours back.
    clock.advance(2 * HOUR_MS)
    const again = open()
    const later = again.networkFigures(24)
    expect(later.contributors).toEqual({ online: 0, gflopPerSecond: 0 })
    expect(later.compute.tasks).toBe(4)
    expect(later.compute.totalGflop).toBeCloseTo(figures.compute.totalGflop, 15)
    expect(later.compute.hourly.map((h) => h.tasks).slice(-3)).toEqual([4, 0, 0])
    expect(later.creditsPaid).toBe(figures.creditsPaid)
    again.close()
  })

  it('keeps credit totals per kind as transfers happen, backfilled from the ledger by the migration', () => {
    const path = tempDb()
    const store = createSqliteStore({ path })
    const ledger = createLedger(store)
    ledger.grant('alice', 100n, 1)
    ledger.escrow('alice', 'j1', 60n, 2)
    ledger.pay('j1', '0x00000000000000000000000000000000000000Aa', 25n, 3, 'pay:l1')
    ledger.settle('j1', 'alice', ['0x00000000000000000000000000000000000000Aa'], 4)
    expect(store.transferredTotal(['payout', 'site-share'])).toBe(25n)
    expect(store.transferredTotal(['grant'])).toBe(100n)
    expect(store.transferredTotal(['refund'])).toBe(35n)
    store.close()

    // A database from before the totals: the migration sums the transfers once.
    const db = new DatabaseSync(path)
    db.exec('DROP TABLE transfer_totals; DROP TABLE compute_hours; PRAGMA user_version = 1')
    db.close()
    const reopened = createSqliteStore({ path })
    expect(reopened.transferredTotal(['payout', 'site-share'])).toBe(25n)
    expect(reopened.transferredTotal(['grant', 'escrow'])).toBe(160n)
    expect(reopened.computeTotal()).toEqual({ gflop: 0, tasks: 0 })
    reopened.close()
  })

  it('writes compute once per group commit, and a unit rolled back takes its count with it', () => {
    const path = tempDb()
    const store = createSqliteStore({ path })
    store.transaction(() => store.addCompute(HOUR_MS, 1.5, 1))
    store.transaction(() => store.addCompute(HOUR_MS, 2, 1))
    expect(() =>
      store.transaction(() => {
        store.addCompute(HOUR_MS, 100, 1)
        throw new Error('the acceptance failed')
      }),
    ).toThrow(/acceptance failed/)
    // Read before the group commits: this connection sees it.
    expect(store.computeTotal()).toEqual({ gflop: 3.5, tasks: 2 })
    store.flush()
    store.close()
    const reopened = createSqliteStore({ path })
    expect(reopened.computeHours(0, 2 * HOUR_MS)).toEqual([{ hour: HOUR_MS, gflop: 3.5, tasks: 2 }])
    expect(() => reopened.transferredTotal(['pay'])).toThrow(/no running total is kept of pay/)
    reopened.close()
  })
})
