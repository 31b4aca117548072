import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getAddress } from 'viem'
import { afterEach, describe, expect, it } from 'vitest'
import type { CoordinatorStore } from '../store/coordinator-store.ts'
import { createSqliteStore } from '../store/sqlite-store.ts'
import {
  createLedger,
  escrowAccount,
  parsePendingAccount,
  pendingAccount,
  TREASURY,
} from './ledger.ts'
import { siteShareOf } from './site-share.ts'

const dirs: string[] = []
const stores: CoordinatorStore[] = []
afterEach(() => {
  for (const store of stores.splice(0)) store.close()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A real SQLite file in a temp dir, as the relay keeps it. */
function openStore(path = join(tempDir(), 'coordinator.db')) {
  const store = createSqliteStore({ path })
  stores.push(store)
  return { store, path }
}

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'))
  dirs.push(dir)
  return dir
}

const JOB = '6f1c9f2e-0000-4000-8000-000000000001'
const JOB2 = '6f1c9f2e-0000-4000-8000-000000000002'
const WALLET = '0x00000000000000000000000000000000000000Aa'
const SITE_A = getAddress('0x000000000000000000000000000000000000a11c')
const SITE_B = getAddress('0x000000000000000000000000000000000000b0b0')
const INT64_MAX = 2n ** 63n - 1n

describe('ledger amounts', () => {
  it('moves amounts past 2^53 without losing a unit, and reads them back exactly after a reopen', () => {
    const { store, path } = openStore()
    const ledger = createLedger(store)
    // 2^53 + 1 is the first integer a float64 cannot hold: a Number would read 2^53.
    const budget = 2n ** 53n + 1n
    const task = 2n ** 60n + 7n
    ledger.grant('owner', budget + task, 0)
    expect(ledger.escrow('owner', JOB, budget + task, 0)).toBe(true)
    expect(ledger.pay(JOB, WALLET, task, 0, 'pay:l1')).toBe(task)
    expect(ledger.settle(JOB, 'owner', [WALLET], 1)).toBe(budget)
    store.close()
    stores.length = 0

    const { store: reopened } = openStore(path)
    const again = createLedger(reopened)
    expect(again.balance(WALLET)).toBe(task)
    expect(again.earned(WALLET)).toBe(task)
    expect(again.balance('owner')).toBe(budget)
    expect(again.balance(TREASURY)).toBe(-(budget + task))
    expect(again.earnedTotals()).toEqual([{ account: WALLET, total: task }])
    expect(reopened.ledgerImbalance()).toBe(0n)
  })

  it('refuses a move that would take a balance past 2^63 − 1 (or below −2^63), and writes none of it', () => {
    const { store } = openStore()
    const ledger = createLedger(store)
    ledger.grant('a', INT64_MAX, 0)
    // SQLite would store a + 1 as a REAL, 9.223372036854776e18: silently inexact.
    expect(() => ledger.grant('a', 1n, 1)).toThrow(RangeError)
    expect(() => ledger.grant('a', 1n, 1)).toThrow(/balance of a to 9223372036854775808/)
    // The treasury is at −(2^63 − 1): one more credit out of it is −2^63, two are past it.
    ledger.grant('b', 1n, 2)
    expect(() => ledger.grant('c', 1n, 3)).toThrow(/balance of treasury to -9223372036854775809/)
    expect(() =>
      store.transfer({ from: 'x', to: 'y', amount: 2n ** 63n, kind: 'grant', at: 4 }),
    ).toThrow(/from 0 to 2\^63-1/)
    expect(() =>
      store.transfer({ from: 'x', to: 'y', amount: 5 as unknown as bigint, kind: 'grant', at: 4 }),
    ).toThrow(/got 5 \(number\)/)
    expect([ledger.balance('a'), ledger.balance('b'), ledger.balance('c')]).toEqual([
      INT64_MAX,
      1n,
      0n,
    ])
    expect(store.ledgerImbalance()).toBe(0n)
  })
})

describe('site share', () => {
  it('floors the site’s share and leaves the remainder with the contributor', () => {
    expect(siteShareOf(7n, 1_000, SITE_A)).toEqual({ site: 0n, contributor: 7n })
    expect(siteShareOf(10n, 1_000, SITE_A)).toEqual({ site: 1n, contributor: 9n })
    expect(siteShareOf(19n, 1_000, SITE_A)).toEqual({ site: 1n, contributor: 18n })
    expect(siteShareOf(7n, 10_000, SITE_A)).toEqual({ site: 7n, contributor: 0n })
    expect(siteShareOf(7n, 0, SITE_A)).toEqual({ site: 0n, contributor: 7n })
    expect(siteShareOf(99n, 1_000, undefined)).toEqual({ site: 0n, contributor: 99n })
    const huge = 2n ** 62n + 3n
    expect(siteShareOf(huge, 3_333, SITE_A)).toEqual({
      site: (huge * 3_333n) / 10_000n,
      contributor: huge - (huge * 3_333n) / 10_000n,
    })
    expect(() => siteShareOf(1n, 10_001, SITE_A)).toThrow(/0\.\.10000/)
    expect(() => createLedger(openStore().store, { siteShareBps: 1.5 })).toThrow(/siteShareBps/)
  })

  it('pays each site its share of what was earned through it: one wallet, two tabs, two sites', () => {
    const { store } = openStore()
    const ledger = createLedger(store, { siteShareBps: 1_000 })
    ledger.grant('owner', 1_000n, 0)
    ledger.escrow('owner', JOB, 1_000n, 0)
    // Tab 1 through site A earns 7 + 8 = 15; tab 2 through site B earns 7; the wallet alone 5.
    ledger.pay(JOB, WALLET, 7n, 1, 'pay:a1', SITE_A)
    ledger.pay(JOB, WALLET, 8n, 1, 'pay:a2', SITE_A)
    ledger.pay(JOB, WALLET, 7n, 1, 'pay:b1', SITE_B)
    ledger.pay(JOB, WALLET, 5n, 1, 'pay:w1')
    expect(ledger.pending(WALLET)).toBe(27n)
    expect(Object.fromEntries(store.pendingPayees())).toEqual({ [JOB]: [WALLET] })
    expect(ledger.settle(JOB, 'owner', [WALLET], 2)).toBe(1_000n - 27n)
    // A: floor(10% of 15) = 1. B: floor(10% of 7) = 0, not rounded up by A's remainder.
    expect(ledger.balance(SITE_A)).toBe(1n)
    expect(ledger.balance(SITE_B)).toBe(0n)
    expect(ledger.earned(SITE_A)).toBe(1n)
    expect(ledger.earned(WALLET)).toBe(26n)
    expect(ledger.balance(WALLET)).toBe(26n)
    expect(store.creditedTotal(SITE_A, ['site-share'])).toBe(1n)
    expect(ledger.earnedTotals()).toEqual([
      { account: WALLET, total: 26n },
      { account: SITE_A, total: 1n },
    ])
    expect(ledger.pending(WALLET)).toBe(0n)
    expect(store.ledgerImbalance()).toBe(0n)
  })

  it('gives nothing to a site from forfeited or undone work', () => {
    const { store } = openStore()
    const ledger = createLedger(store, { siteShareBps: 5_000 })
    ledger.grant('owner', 200n, 0)
    ledger.escrow('owner', JOB, 100n, 0)
    ledger.escrow('owner', JOB2, 100n, 0)
    ledger.pay(JOB, WALLET, 10n, 1, 'pay:1', SITE_A)
    ledger.pay(JOB2, WALLET, 20n, 1, 'pay:2', SITE_B)
    ledger.pay(JOB2, 'peer:honest', 30n, 1, 'pay:3', SITE_B)
    // Undone acceptance: exactly what that payment put into the site's pending account.
    expect(ledger.unpay(JOB2, 'pay:3', 2, 'unpay:3')).toBe(30n)
    expect(ledger.unpay(JOB2, 'pay:3', 2, 'unpay:3b')).toBe(0n)
    expect(ledger.unpay(JOB2, 'pay:none', 2, 'unpay:none')).toBe(0n)
    // A fault: the wallet's pending credit through both sites goes back to each job's escrow.
    expect(ledger.forfeit(WALLET, 3)).toEqual([
      { jobId: JOB, credits: 10n },
      { jobId: JOB2, credits: 20n },
    ])
    expect(ledger.escrowed(JOB)).toBe(100n)
    expect(ledger.escrowed(JOB2)).toBe(100n)
    ledger.settle(JOB, 'owner', [WALLET], 4)
    ledger.settle(JOB2, 'owner', [WALLET, 'peer:honest'], 4)
    for (const account of [SITE_A, SITE_B, WALLET, 'peer:honest']) {
      expect(ledger.balance(account)).toBe(0n)
      expect(ledger.earned(account)).toBe(0n)
    }
    expect(ledger.balance('owner')).toBe(200n)
    expect(ledger.earnedTotals()).toEqual([])
    expect(store.ledgerImbalance()).toBe(0n)
  })

  it('gains nothing for a contributor that names itself as the site', () => {
    const { store } = openStore()
    const ledger = createLedger(store, { siteShareBps: 1_000 })
    ledger.grant('owner', 200n, 0)
    ledger.escrow('owner', JOB, 100n, 0)
    ledger.escrow('owner', JOB2, 100n, 0)
    const other = '0x00000000000000000000000000000000000000Bb'
    ledger.pay(JOB, WALLET, 19n, 1, 'pay:self', WALLET)
    ledger.pay(JOB2, other, 19n, 1, 'pay:plain')
    ledger.settle(JOB, 'owner', [WALLET], 2)
    ledger.settle(JOB2, 'owner', [other], 2)
    // The share comes out of its own earnings and back to it: 1 + 18, as much as without.
    expect(store.creditedTotal(WALLET, ['site-share'])).toBe(1n)
    expect(store.creditedTotal(WALLET, ['payout'])).toBe(18n)
    expect(ledger.earned(WALLET)).toBe(ledger.earned(other))
    expect(ledger.balance(WALLET)).toBe(19n)
    expect(ledger.earnedTotals()).toEqual([
      { account: WALLET, total: 19n },
      { account: other, total: 19n },
    ])
  })

  it('names pending accounts so a payee, a job and a site read back apart', () => {
    expect(pendingAccount('peer:a:b', JOB)).toBe(`pending:peer:a:b:${JOB}`)
    expect(parsePendingAccount(pendingAccount('peer:a:b', JOB))).toEqual({
      payee: 'peer:a:b',
      jobId: JOB,
    })
    expect(parsePendingAccount(pendingAccount(WALLET, JOB, SITE_A))).toEqual({
      payee: WALLET,
      jobId: JOB,
      site: SITE_A,
    })
    expect(parsePendingAccount(escrowAccount(JOB))).toBeUndefined()
  })
})

describe('ledger refs and prefixes', () => {
  it('pays a ref once, and reads account prefixes literally (no LIKE wildcards)', () => {
    const store = createSqliteStore({ path: ':memory:' })
    const ledger = createLedger(store)
    ledger.grant('owner', 100n, 0)
    expect(ledger.escrow('owner', 'job1', 60n, 0)).toBe(true)
    expect(ledger.escrow('owner', 'job2', 60n, 0)).toBe(false)
    ledger.pay('job1', 'peer:x', 10n, 0, 'pay:lease-1')
    expect(() => ledger.pay('job1', 'peer:x', 10n, 0, 'pay:lease-1')).toThrow(/UNIQUE/)
    ledger.pay('job1', 'peer:%', 7n, 0, 'pay:lease-2')
    expect(ledger.pending('peer:x')).toBe(10n)
    expect(ledger.pending('peer:%')).toBe(7n)
    expect(ledger.forfeit('peer:%', 0)).toEqual([{ jobId: 'job1', credits: 7n }])
    expect(ledger.settle('job1', 'owner', ['peer:x', 'peer:%'], 0)).toBe(50n)
    expect([ledger.balance('owner'), ledger.earned('peer:x'), ledger.earned('peer:%')]).toEqual([
      90n,
      10n,
      0n,
    ])
    expect(store.ledgerImbalance()).toBe(0n)
    store.close()
  })
})
