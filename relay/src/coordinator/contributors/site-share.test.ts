import { getAddress } from 'viem'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../log.ts'
import { createSqliteStore } from '../../store/sqlite-store.ts'
import { float32Output } from '../in-process-inputs.ts'
import {
  caps,
  make,
  matrices,
  removeDirs,
  submitHonest,
  tileOf,
} from '../testing/coordinator-fixture.ts'
import { createContributorRegistry, identityOf, sameContributor } from './contributor-registry.ts'

// The site share through the whole coordinator: a wallet bound through a site's widget pays
// that site a share of what it earns there, per result, and nothing of what it loses.

afterEach(removeDirs)

const WALLET = '0x00000000000000000000000000000000000000Aa'
// Lower case, as a widget may send it: the ledger account is the checksummed form.
const SITE_A = '0x000000000000000000000000000000000000a11c'
const SITE_B = '0x000000000000000000000000000000000000b0b0'
const SITE_A_ACCOUNT = getAddress(SITE_A)
const SITE_B_ACCOUNT = getAddress(SITE_B)

describe('coordinator: site share', () => {
  it('pays each site its floored share of what one wallet earned through it from two tabs', async () => {
    // Every 4x4 tile of a k = 3 product is 96 flops: 96 credits a tile at 10^6 per megaflop.
    const c = make({
      tileSize: 4,
      spotCheckRate: 0,
      siteShareBps: 1_000,
      creditsPerMegaflop: 1_000_000n,
    })
    c.registerContributor('tab-a', {
      capabilities: caps,
      wallet: { address: WALLET, site: SITE_A },
    })
    c.registerContributor('tab-b', {
      capabilities: caps,
      wallet: { address: WALLET, site: SITE_B },
    })
    const job = c.submitMatmul(matrices(10, 3, 7))
    const accepted = { 'tab-a': 0n, 'tab-b': 0n }
    for (let round = 0; round < 6; round++)
      for (const tab of ['tab-a', 'tab-b'] as const) {
        const grant = c.lease(tab)
        if (grant != null && submitHonest(c, tab, grant).outcome === 'accepted') accepted[tab]++
      }
    const done = await c.getJob(job.id)
    expect(done.status).toBe('completed')
    expect(accepted['tab-a']).toBeGreaterThan(0n)
    expect(accepted['tab-b']).toBeGreaterThan(0n)
    expect(accepted['tab-a'] + accepted['tab-b']).toBe(6n)
    // Per site, floored: 10% of 96·n is 9.6·n, rounded down.
    const siteA = (accepted['tab-a'] * 96n * 1_000n) / 10_000n
    const siteB = (accepted['tab-b'] * 96n * 1_000n) / 10_000n
    expect(await c.account(SITE_A_ACCOUNT)).toMatchObject({ balance: siteA, earned: siteA })
    expect(await c.account(SITE_B_ACCOUNT)).toMatchObject({ balance: siteB, earned: siteB })
    const wallet = await c.account(WALLET)
    expect(wallet.earned).toBe(6n * 96n - siteA - siteB)
    expect(wallet.earned + siteA + siteB).toBe(BigInt(done.credits.spent))
    c.close()
  })

  it('counts a wallet through two sites as one contributor, bans it through both, and pays no site from forfeited work', async () => {
    const store = createSqliteStore({ path: ':memory:' })
    const registry = createContributorRegistry({
      store,
      clock: { now: () => 1 },
      log: silentLogger,
      defaultGflops: 20,
      banAfterFaults: 2,
      banAddressAfterFaults: 4,
      forfeit: () => {},
    })
    const a = registry.register('tab-a', {
      capabilities: caps,
      wallet: { address: WALLET, site: SITE_A },
    })
    const b = registry.register('tab-b', {
      capabilities: caps,
      wallet: { address: WALLET, site: SITE_B },
    })
    expect([a.site, b.site]).toEqual([SITE_A_ACCOUNT, SITE_B_ACCOUNT])
    // The site is carried beside a result, but distinctness is per wallet.
    expect(identityOf(a).site).toBe(SITE_A_ACCOUNT)
    expect(sameContributor(identityOf(a), identityOf(b))).toBe(true)
    store.close()

    const c = make({ tileSize: 4, spotCheckRate: 0, siteShareBps: 5_000, banAfterFaults: 2 })
    for (const [tab, site] of [
      ['tab-a', SITE_A],
      ['tab-b', SITE_B],
    ] as const)
      c.registerContributor(tab, { capabilities: caps, wallet: { address: WALLET, site } })
    const job = c.submitMatmul(matrices(10, 3, 7))
    expect(submitHonest(c, 'tab-a', c.lease('tab-a')!).outcome).toBe('accepted')
    expect((await c.account(WALLET)).pending).toBeGreaterThan(0n)
    const wrong = (tab: string) => {
      const grant = c.lease(tab)!
      const { m, n } = tileOf(grant)
      return c.submitResult(tab, grant.leaseId, [
        float32Output(new Float32Array(m * n).fill(999), [m, n]),
      ])
    }
    // Through site B: the wallet's pending credit through site A goes back to the job too.
    expect(wrong('tab-b').outcome).toBe('rejected')
    expect((await c.account(WALLET)).pending).toBe(0n)
    expect(wrong('tab-a').outcome).toBe('rejected')
    expect(() =>
      c.registerContributor('tab-c', {
        capabilities: caps,
        wallet: { address: WALLET, site: SITE_A },
      }),
    ).toThrow(/banned/)
    c.registerContributor('honest', { capabilities: caps })
    for (let grant = c.lease('honest'); grant; grant = c.lease('honest'))
      submitHonest(c, 'honest', grant)
    const done = await c.getJob(job.id)
    expect(done.status).toBe('completed')
    for (const account of [WALLET, SITE_A_ACCOUNT, SITE_B_ACCOUNT])
      expect(await c.account(account)).toMatchObject({ balance: 0n, earned: 0n, pending: 0n })
    expect((await c.account('peer:honest')).earned).toBe(BigInt(done.credits.spent))
    c.close()
  })
})
