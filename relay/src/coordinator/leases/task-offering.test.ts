import { describe, expect, it } from 'vitest'
import { createMemoryBlobStore } from '../../blobs/blob-store.ts'
import { createSqliteStore } from '../../store/sqlite-store.ts'
import { float32Output } from '../in-process-inputs.ts'
import {
  blobSpec,
  caps,
  fakeClock,
  honest,
  make,
  matrices,
  submitHonest,
  tileOf,
} from '../testing/coordinator-fixture.ts'
import { OFFER_HOLDER } from './task-offering.ts'

// The owner's side of sharing tasks across a cluster: queued tasks leased to the cluster's
// stand-in, and a remote contributor's result recorded as a connected one's would be.

const remoteHello = (address: string, wallet?: string) => ({
  capabilities: caps,
  gflops: 50,
  address,
  ...(wallet != null ? { wallet: { address: wallet } } : {}),
})

describe('task offering', () => {
  it('offers queued tasks without providers, records a remote result as a connected contributor’s and pays it', async () => {
    const c = make({ tileSize: 2 })
    const job = c.submitMatmul(matrices(4, 4, 4))
    const offered = c.offering.offer(10)
    // 4 tiles of 2×2: all of them, each once, and none left for a contributor here.
    expect(offered.map((o) => o.grant.taskId).sort()).toHaveLength(4)
    expect(new Set(offered.map((o) => o.grant.taskId)).size).toBe(4)
    expect(offered.every((o) => o.need.kernel === 'matmul')).toBe(true)
    expect(offered.flatMap((o) => o.grant.inputs).every((ref) => ref.providers == null)).toBe(true)
    c.registerContributor('here', caps)
    expect(c.lease('here')).toBeUndefined()
    expect(c.offering.offer(1, { perContributor: 0 })).toEqual([])

    for (const [i, { grant }] of offered.entries()) {
      expect(c.offering.holds(grant.leaseId)).toBe(true)
      const peer = `remote-${i}`
      expect(c.offering.adopt(grant.leaseId, peer, remoteHello(`10.0.0.${i + 1}`))).toBeUndefined()
      expect(c.offering.holds(grant.leaseId)).toBe(false)
      const outcome = c.submitResult(peer, grant.leaseId, [
        float32Output(honest(c, grant), [tileOf(grant).m, tileOf(grant).n]),
      ])
      expect(['accepted', 'pending']).toContain(outcome.outcome)
    }
    // Remote contributors verify and earn here, but are nobody's online count here.
    expect(c.offering.remoteCount).toBe(4)
    expect(c.stats().gauges.contributorsOnline).toBe(1)
    await c.durable()
    const view = await c.getJob(job.id)
    expect(view.status).toBe('completed')
    let earned = 0n
    for (let i = 0; i < 4; i++) earned += (await c.account(`peer:remote-${i}`)).earned
    expect(earned).toBeGreaterThan(0n)
  })

  it('keeps queued tasks for the contributors connected here, and offers the surplus', () => {
    const clock = fakeClock()
    const c = make({ tileSize: 2, clock })
    c.submitMatmul(matrices(8, 2, 8)) // 16 tiles
    c.registerContributor('here-1', caps)
    c.registerContributor('here-2', caps)
    expect(c.offering.offer(100)).toHaveLength(16 - 2 * 2)
    expect(c.lease('here-1')).toBeDefined()
    expect(c.offering.offer(100, { perContributor: 0 })).toHaveLength(3)
  })

  it('keeps what its own contributors run within two seconds at their recent rate', () => {
    const clock = fakeClock()
    const c = make({ tileSize: 2, clock, maxLeasesPerPeer: 1_000 })
    c.submitMatmul(matrices(40, 2, 40)) // 400 tiles
    c.registerContributor('here', caps)
    expect(c.offering.offer(0)).toEqual([]) // the first look: no rate yet
    // 50 leases here over one second: 50/s, so 100 tasks are kept.
    for (let i = 0; i < 50; i++) {
      clock.advance(20)
      expect(c.lease('here')).toBeDefined()
    }
    expect(c.offering.offer(1_000)).toHaveLength(400 - 50 - 100)
  })

  it('gives an offer nobody ran back to the front of the queue', () => {
    const c = make({ tileSize: 2 })
    c.submitMatmul(matrices(4, 2, 4))
    const [first] = c.offering.offer(1)
    expect(first).toBeDefined()
    c.offering.giveBack(first!.grant.leaseId)
    expect(c.offering.holds(first!.grant.leaseId)).toBe(false)
    c.registerContributor('here', caps)
    expect(c.lease('here')?.taskId).toBe(first!.grant.taskId)
  })

  it('refuses a stale offer, a banned contributor, and a second replica from one wallet', async () => {
    const clock = fakeClock()
    const c = make({ tileSize: 2, clock, leaseMs: 1_000 })
    c.submitMatmul(matrices(2, 2, 2))
    const [offer] = c.offering.offer(1)
    clock.advance(1_000)
    c.reclaimExpiredLeases()
    expect(c.offering.adopt(offer!.grant.leaseId, 'late', remoteHello('10.0.0.9'))).toMatchObject({
      outcome: 'stale',
    })

    const store = createSqliteStore({ path: ':memory:' })
    store.addBan('peer:liar', 'wrong results', 0)
    const d = make({ tileSize: 2, store })
    d.submitMatmul(matrices(2, 2, 2))
    const [toLiar] = d.offering.offer(1)
    expect(d.offering.adopt(toLiar!.grant.leaseId, 'liar', remoteHello('10.0.0.8'))).toMatchObject({
      outcome: 'rejected',
      reason: expect.stringMatching(/banned/),
    })
    // Back in the queue, for someone else.
    expect(d.offering.offer(1)[0]?.grant.taskId).toBe(toLiar!.grant.taskId)

    // Two replicas per task: a wallet that answered one under a peer id here may not answer
    // the other under another peer id through another relay.
    const blobs = createMemoryBlobStore()
    const e = make({ tileSize: 2, blobs, newcomerSpotChecks: 0 })
    const wallet = '0x000000000000000000000000000000000000dEaD'
    await e.submit(
      blobSpec(blobs, 2, 2, 2, { verification: { replication: 2, freivalds: 0, spotCheck: 0 } }),
      {
        account: 'researcher',
      },
    )
    e.registerContributor('local-peer', { capabilities: caps, wallet: { address: wallet } })
    const first = e.lease('local-peer')!
    expect(submitHonest(e, 'local-peer', first).outcome).toBe('pending')
    // Nothing is kept for the contributor here: it may not run the other replica anyway.
    const [twin] = e.offering.offer(1, { perContributor: 0 })
    expect(twin?.grant.taskId).toBe(first.taskId)
    expect(
      e.offering.adopt(twin!.grant.leaseId, 'sybil', remoteHello('10.0.0.7', wallet)),
    ).toMatchObject({
      outcome: 'rejected',
      reason: expect.stringMatching(/replica/),
    })
    expect(e.offering.holds(twin!.grant.leaseId)).toBe(false)
    // An honest second contributor elsewhere agrees, and the task is accepted.
    const [again] = e.offering.offer(1, { perContributor: 0 })
    expect(e.offering.adopt(again!.grant.leaseId, 'other', remoteHello('10.0.0.6'))).toBeUndefined()
    expect(submitHonest(e, 'other', again!.grant).outcome).toBe('accepted')
    expect(OFFER_HOLDER).toMatch(/:/)
  })
})
