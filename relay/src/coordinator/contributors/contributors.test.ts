import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../log.ts'
import { createSqliteStore } from '../../store/sqlite-store.ts'
import type { Coordinator } from '../coordinator.ts'
import { float32Output } from '../in-process-inputs.ts'
import { caps, make, matrices, submitHonest } from '../testing/coordinator-fixture.ts'
import { accountKey } from './account-key.ts'

// Contributors through the coordinator: faults and bans kept per peer id, wallet and network
// address, and a wallet's account named the same whatever its casing.

describe('coordinator: faults follow the wallet and the address, not the peer id', () => {
  const wrongTile = (c: Coordinator, peer: string) => {
    const grant = c.lease(peer)
    if (grant == null) return 'no lease'
    return c.submitResult(peer, grant.leaseId, [float32Output(new Float32Array(4).fill(7), [2, 2])])
      .outcome
  }

  it('bans a wallet whose faults come through fresh peer ids, and every peer under it', async () => {
    const c = make({ tileSize: 2, banAfterFaults: 2 })
    c.submitMatmul(matrices(8, 2, 8))
    const wallet = { address: '0x00000000000000000000000000000000000000bb' }
    // A peer of the wallet already connected, in good standing so far.
    c.registerContributor('quiet', { capabilities: caps, wallet, address: '10.3.99.1' })
    expect(wrongTile(c, 'x0')).toBe('no lease')
    c.registerContributor('x0', { capabilities: caps, wallet, address: '10.3.0.1' })
    expect(wrongTile(c, 'x0')).toBe('rejected')
    c.registerContributor('x1', { capabilities: caps, wallet, address: '10.3.1.1' })
    expect(wrongTile(c, 'x1')).toBe('rejected')
    // Two faults of the wallet: it is banned whatever peer id or address comes next.
    expect(() =>
      c.registerContributor('x2', { capabilities: caps, wallet, address: '10.3.2.1' }),
    ).toThrow(expect.objectContaining({ code: 'CONTRIBUTOR_BANNED' }))
    expect(() =>
      c.registerContributor('x3', {
        capabilities: caps,
        wallet: { address: wallet.address.toUpperCase().replace('0X', '0x') },
      }),
    ).toThrow(/banned .*wallet/)
    expect(c.lease('quiet')).toBeUndefined()
    expect(() => c.registerContributor('quiet', { capabilities: caps })).toThrow(/banned/)
    // Someone else, elsewhere, is unaffected.
    c.registerContributor('fine', { capabilities: caps, address: '10.4.0.1' })
    expect(c.lease('fine')).toBeDefined()
  })

  it('bans a network address whose faults come through fresh peer ids and wallets', async () => {
    const c = make({ tileSize: 2, banAfterFaults: 2, banAddressAfterFaults: 3 })
    c.submitMatmul(matrices(8, 2, 8))
    const join = (i: number, address: string) =>
      c.registerContributor(`y${i}`, {
        capabilities: caps,
        wallet: { address: `0x${(0xc0 + i).toString(16).padStart(40, '0')}` },
        address,
      })
    for (let i = 0; i < 3; i++) {
      join(i, '203.0.113.9')
      expect(wrongTile(c, `y${i}`)).toBe('rejected')
    }
    expect(() => join(3, '203.0.113.9')).toThrow(/banned .*address/)
    // An IPv6 /64 is one address.
    for (let i = 4; i < 7; i++) {
      join(i, `2001:db8:7:7::${i}`)
      expect(wrongTile(c, `y${i}`)).toBe('rejected')
    }
    expect(() => join(7, '2001:db8:7:7:ffff::1')).toThrow(/banned .*address/)
    // Two addresses, and the six peer ids connected under them, each counted.
    expect(c.stats().counters.bans).toBe(8)
    expect(c.stats().gauges.bannedContributors).toBe(8)
  })

  it('bans the peer id of a contributor whose fault bans only its address, so it cannot come back from elsewhere', async () => {
    const lines: Array<{ msg: string; fields: Record<string, unknown> }> = []
    const log = {
      ...silentLogger,
      warn: (msg: string, fields: Record<string, unknown> = {}) => lines.push({ msg, fields }),
    }
    // One fault bans the address; a peer id needs five.
    const c = make({ tileSize: 2, banAfterFaults: 5, banAddressAfterFaults: 1, log })
    c.submitMatmul(matrices(8, 2, 8))
    c.registerContributor('nat-a', { capabilities: caps, address: '198.51.100.7' })
    c.registerContributor('nat-b', { capabilities: caps, address: '198.51.100.7' })
    expect(wrongTile(c, 'nat-a')).toBe('rejected')
    // From another address, the faulty peer is refused with a reason, not silently starved.
    expect(() =>
      c.registerContributor('nat-a', { capabilities: caps, address: '192.0.2.1' }),
    ).toThrow(expect.objectContaining({ code: 'CONTRIBUTOR_BANNED' }))
    expect(() =>
      c.registerContributor('nat-b', { capabilities: caps, address: '192.0.2.2' }),
    ).toThrow(/banned .*peer/)
    expect(c.stats().counters.bans).toBe(3)
    const banned = lines.filter((l) => l.msg === 'banned').map((l) => l.fields.ban)
    expect(banned.sort()).toEqual(['address:198.51.100.7', 'peer:nat-a', 'peer:nat-b'])
  })
})

describe('coordinator: jobs, credits and scheduling', () => {
  it('names a wallet account the same whatever the casing of its address', async () => {
    const c = make({ tileSize: 4 })
    c.registerContributor('w', {
      capabilities: caps,
      wallet: { address: '0xAbCdEf0000000000000000000000000000000001' },
    })
    c.submitMatmul(matrices(4, 2, 4))
    submitHonest(c, 'w', c.lease('w')!)
    const checksummed = await c.account('0xAbCdEf0000000000000000000000000000000001')
    expect(checksummed.earned).toBeGreaterThan(0n)
    expect(checksummed.account).toBe('0xaBCdEf0000000000000000000000000000000001')
    expect(await c.account('0xabcdef0000000000000000000000000000000001')).toEqual(checksummed)
  })
})

describe('coordinator: bans that reach the store from elsewhere', () => {
  it('stops the connected contributors a copied ban names, by wallet or address, and takes their leases back', () => {
    const store = createSqliteStore({ path: ':memory:' })
    const c = make({ tileSize: 2, store })
    c.submitMatmul(matrices(4, 2, 4))
    const wallet = { address: '0x00000000000000000000000000000000000000cc' }
    c.registerContributor('by-wallet', { capabilities: caps, wallet, address: '10.5.0.1' })
    c.registerContributor('by-address', { capabilities: caps, address: '10.5.0.2' })
    c.registerContributor('innocent', { capabilities: caps, address: '10.5.0.3' })
    const held = c.lease('by-wallet')!
    expect(c.stats().gauges.activeLeases).toBe(1)
    expect(c.applyStoredBans()).toBe(0)
    // What another relay banned, copied in: the wallet (checksummed) and an address.
    store.addBan(`wallet:${accountKey(wallet.address)}`, 'wrong results', 1)
    store.addBan('address:10.5.0.2', 'wrong results', 1)
    expect(c.applyStoredBans()).toBe(2)
    expect(c.applyStoredBans()).toBe(0)
    for (const peer of ['by-wallet', 'by-address'])
      expect(c.refusal(peer)).toMatchObject({ code: 'CONTRIBUTOR_BANNED' })
    expect(c.refusal('innocent')).toBeUndefined()
    expect(c.lease('by-wallet')).toBeUndefined()
    // Its lease was taken back: the task is queued again, and its result is refused.
    expect(c.stats().gauges.activeLeases).toBe(0)
    expect(submitHonest(c, 'by-wallet', held).outcome).toBe('stale')
  })
})
