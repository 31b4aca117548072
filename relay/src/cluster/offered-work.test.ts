import { afterEach, describe, expect, it, vi } from 'vitest'
import { float32Output } from '../coordinator/in-process-inputs.ts'
import { caps, make, matrices } from '../coordinator/testing/coordinator-fixture.ts'
import { createSqliteStore } from '../store/sqlite-store.ts'
import { encodeOfferedGrant } from './offered-grant.ts'
import { createOfferedWork } from './offered-work.ts'
import type { ClaimedOffer, OfferReturn, OfferVerdict, TaskOffers } from './task-offers.ts'

// The claiming relay's gateway with the database replaced by a fake `TaskOffers` (the
// real one runs in `task-sharing.test.ts`): its own work first, what it hands out, what it
// sends back, and whom it refuses.

/** Offers a real coordinator made, served by a fake table. */
function fakeTable(tasks: number) {
  const owner = make({ tileSize: 2 })
  owner.submitMatmul(matrices(2 * tasks, 2, 2))
  const open: ClaimedOffer[] = owner.offering.offer(tasks, { perContributor: 0 }).map((o) => ({
    offerId: o.grant.leaseId,
    jobId: o.grant.jobId,
    ownerId: 'owner-1',
    kind: o.need.kernel,
    grant: encodeOfferedGrant(o),
    expiresInMs: 60_000,
  }))
  const returns: OfferReturn[] = []
  const verdicts: OfferVerdict[] = []
  const wanted: number[] = []
  const offers: TaskOffers = {
    publish: async () => {},
    withdraw: async () => [],
    withdrawJobs: async () => 0,
    claim: async (_relay, _kinds, max) => open.splice(0, max),
    sendReturns: async (r) => {
      returns.push(...r)
    },
    takeReturns: async () => [],
    sendVerdicts: async () => {},
    takeVerdicts: async () => verdicts.splice(0),
    purge: async () => 0,
  }
  return { owner, open, offers, returns, verdicts, wanted }
}

const stops: AbortController[] = []
afterEach(() => {
  for (const s of stops.splice(0)) s.abort()
})

function gateway(table: ReturnType<typeof fakeTable>, options: { readable?: boolean } = {}) {
  const stop = new AbortController()
  stops.push(stop)
  const store = createSqliteStore({ path: ':memory:' })
  const local = make({ tileSize: 2, store })
  const work = createOfferedWork({
    local,
    offers: table.offers,
    relayId: 'relay-2',
    readable: () => options.readable ?? true,
    announceWant: async (count) => {
      table.wanted.push(count)
    },
    signal: stop.signal,
    busyMs: 5,
    idleMs: 5,
  })
  return {
    local,
    work,
    /** A ban another relay made, as the cluster node copies it in and applies it. */
    ban(key: string) {
      store.addBan(key, 'wrong results elsewhere', Date.now())
      local.applyStoredBans()
    },
  }
}

describe('offered work', () => {
  it('serves its own coordinator first, then claims offers for the contributors that found none', async () => {
    const table = fakeTable(4)
    const { local, work } = gateway(table)
    local.submitMatmul(matrices(2, 2, 2))
    work.registerContributor('p', { capabilities: caps, address: '10.0.0.1' })
    const own = work.lease('p')!
    expect(table.open).toHaveLength(4)
    expect(local.runs(own.jobId)).toBe(true)
    // Nothing more here: it wants work, and the next round claims offers for it.
    expect(work.lease('p')).toBeUndefined()
    await vi.waitFor(() => expect(table.open.length).toBeLessThan(4))
    const offered = work.lease('p')!
    expect(offered.jobId).not.toBe(own.jobId)
    expect(offered.expiresInMs).toBeGreaterThan(50_000)
    // At most two offered leases per contributor at once.
    expect(work.lease('p')).toBeDefined()
    expect(work.lease('p')).toBeUndefined()
  })

  it('sends a result to its owner as pending, refuses one of the wrong size, and forwards renewals and releases', async () => {
    const table = fakeTable(4)
    const { work } = gateway(table)
    work.registerContributor('p', { capabilities: caps, address: '10.0.0.1' })
    work.registerContributor('q', { capabilities: caps, address: '10.0.0.2' })
    work.lease('p')
    await vi.waitFor(() => expect(work.stats().claimed).toBeGreaterThan(0))
    const a = work.lease('p')!
    const b = work.lease('p')!
    expect(work.resultBytes('p', a.leaseId)).toBe(16)
    expect(work.renewLease('p', a.leaseId)?.expiresInMs).toBe(60_000)
    expect(
      work.submitResult('q', a.leaseId, [float32Output(new Float32Array(4), [2, 2])]),
    ).toMatchObject({ outcome: 'stale' })
    expect(
      work.submitResult('p', a.leaseId, [float32Output(new Float32Array(4), [2, 2])]),
    ).toMatchObject({ outcome: 'pending' })
    expect(
      work.submitResult('p', a.leaseId, [float32Output(new Float32Array(4), [2, 2])]).outcome,
    ).toBe('stale')
    expect(
      work.submitResult('p', b.leaseId, [float32Output(new Float32Array(3), [3])]),
    ).toMatchObject({
      outcome: 'rejected',
      reason: expect.stringMatching(/16 bytes/),
    })
    await vi.waitFor(() =>
      expect(table.returns.map((r) => r.kind).sort()).toEqual(['release', 'renew', 'result']),
    )
    const result = table.returns.find((r) => r.kind === 'result')!
    expect(result).toMatchObject({
      ownerId: 'owner-1',
      offerId: a.leaseId,
      relayId: 'relay-2',
      peerId: 'p',
    })
    // The owner's verdict reaches the contributor on a later answer.
    table.verdicts.push({ relayId: 'relay-2', peerId: 'p', taskId: a.taskId, outcome: 'accepted' })
    await vi.waitFor(() =>
      expect(work.takeVerdicts('p', 10)).toEqual([{ taskId: a.taskId, outcome: 'accepted' }]),
    )
  })

  it('announces how many more contributors want work than offers gave', async () => {
    const table = fakeTable(1)
    const { work } = gateway(table)
    for (const p of ['p', 'q', 'r'])
      work.registerContributor(p, { capabilities: caps, address: `10.0.1.${p.charCodeAt(0)}` })
    for (const p of ['p', 'q', 'r']) work.lease(p)
    // Three want two each; one offer on the table: five more are wanted.
    await vi.waitFor(() => expect(table.wanted[0]).toBe(5))
  })

  it('gives offers back whose inputs this relay cannot read', async () => {
    const table = fakeTable(2)
    const { work } = gateway(table, { readable: false })
    work.registerContributor('p', { capabilities: caps, address: '10.0.0.1' })
    work.lease('p')
    await vi.waitFor(() =>
      expect(table.returns.filter((r) => r.kind === 'release')).toHaveLength(2),
    )
    expect(work.lease('p')).toBeUndefined()
  })

  it('refuses a contributor a ban from another relay names, at once, with its offers given back when it leaves', async () => {
    const table = fakeTable(2)
    const g = gateway(table)
    g.work.registerContributor('p', { capabilities: caps, address: '10.0.0.9' })
    g.work.lease('p')
    await vi.waitFor(() => expect(g.work.stats().claimed).toBe(2))
    const held = g.work.lease('p')!
    g.ban('address:10.0.0.9')
    expect(g.work.refusal('p')).toMatchObject({ code: 'CONTRIBUTOR_BANNED' })
    expect(g.work.lease('p')).toBeUndefined()
    g.work.contributorLeft('p')
    await vi.waitFor(() =>
      expect(table.returns.filter((r) => r.kind === 'release').map((r) => r.offerId)).toContain(
        held.leaseId,
      ),
    )
  })
})
