import { describe, expect, it } from 'vitest'
import { createMemoryBlobStore } from '../../blobs/blob-store.ts'
import {
  blobSpec,
  caps,
  fakeClock,
  make,
  matrices,
  submitHonest,
} from '../testing/coordinator-fixture.ts'

// Leases through the coordinator: expiry, renewal and release, the cap per peer, speculative
// duplicates of a slow tail, capability fit, and sharing contributors between jobs by priority.

describe('coordinator: matmul jobs', () => {
  it('returns an expired lease to the queue, refuses the late result, and lets a renewal keep it', async () => {
    const clock = fakeClock()
    const c = make({ tileSize: 8, clock, leaseMs: 1_000 })
    const job = c.submitMatmul(matrices(4, 4, 4))
    c.registerContributor('slow', caps)
    c.registerContributor('fast', caps)
    const kept = c.lease('slow')!
    clock.advance(900)
    expect(c.renewLease('slow', kept.leaseId)?.expiresInMs).toBe(1_000)
    clock.advance(900)
    expect(c.reclaimExpiredLeases()).toBe(0)
    clock.advance(200)
    expect(c.reclaimExpiredLeases()).toBe(1)
    expect(c.renewLease('slow', kept.leaseId)).toBeUndefined()
    const retry = c.lease('fast')!
    expect(retry.taskId).toBe(kept.taskId)
    expect(submitHonest(c, 'slow', kept).outcome).toBe('stale')
    expect(submitHonest(c, 'fast', retry).outcome).toBe('accepted')
    expect((await c.getJob(job.id)).status).toBe('completed')
  })

  it('refuses the release of a lease whose time is up, as renewing would', () => {
    const clock = fakeClock()
    const c = make({ tileSize: 2, clock, leaseMs: 1_000 })
    c.submitMatmul(matrices(4, 2, 4))
    c.registerContributor('late', caps)
    const grant = c.lease('late')!
    clock.advance(1_000)
    expect(() => c.releaseLease('late', grant.leaseId)).toThrow(/holds no live lease/)
    expect(c.renewLease('late', grant.leaseId)).toBeUndefined()
  })

  it('takes a released lease back at once, without a fault or a task error, and refuses a release of a lease not held', async () => {
    const clock = fakeClock()
    const c = make({ tileSize: 2, clock, leaseMs: 60_000 })
    const job = c.submitMatmul(matrices(4, 2, 4))
    c.registerContributor('leaver', caps)
    c.registerContributor('other', caps)
    const held = c.lease('leaver')!
    expect(() => c.releaseLease('other', held.leaseId)).toThrow(
      expect.objectContaining({ name: 'CoordinatorError', code: 'LEASE_NOT_HELD' }),
    )
    c.releaseLease('leaver', held.leaseId)
    // Not a day later when the lease would expire: the next lease is the released task.
    const next = c.lease('other')!
    expect(next.taskId).toBe(held.taskId)
    expect(c.stats().counters.bans).toBe(0)
    expect(() => c.releaseLease('leaver', held.leaseId)).toThrow(/holds no live lease/)
    expect(() => c.releaseLease('leaver', 'no-such-lease')).toThrow(
      expect.objectContaining({ code: 'LEASE_NOT_HELD' }),
    )
    // The leaver stays a contributor in good standing: it may lease again and be paid.
    const again = c.lease('leaver')!
    expect(submitHonest(c, 'leaver', again).outcome).toBe('accepted')
    expect(submitHonest(c, 'other', next).outcome).toBe('accepted')
    for (let g = c.lease('leaver'); g; g = c.lease('leaver')) submitHonest(c, 'leaver', g)
    const done = await c.getJob(job.id)
    expect(done.status).toBe('completed')
    expect(done.tasks.rejectedResults).toBe(0)
    expect((await c.account('peer:leaver')).earned).toBeGreaterThan(0n)
    expect(c.stats().gauges.activeLeases).toBe(0)
  })

  it('lets one peer hold at most maxLeasesPerPeer tasks at once', () => {
    const c = make({ tileSize: 1, maxLeasesPerPeer: 3 })
    c.submitMatmul(matrices(4, 1, 4))
    c.registerContributor('hoarder', caps)
    c.registerContributor('other', caps)
    const held = [c.lease('hoarder'), c.lease('hoarder'), c.lease('hoarder')]
    expect(held.every((g) => g != null)).toBe(true)
    expect(c.lease('hoarder')).toBeUndefined()
    expect(c.lease('other')).toBeDefined()
    submitHonest(c, 'hoarder', held[0]!)
    expect(c.lease('hoarder')).toBeDefined()
  })

  it('hands a slow tail task to a second contributor and takes whichever result comes first', async () => {
    const clock = fakeClock()
    const c = make({ tileSize: 8, clock, speculateAfterMs: 500, leaseMs: 60_000 })
    const job = c.submitMatmul(matrices(4, 4, 4))
    c.registerContributor('stuck', caps)
    c.registerContributor('spare', caps)
    const stuck = c.lease('stuck')!
    expect(c.lease('spare')).toBeUndefined()
    clock.advance(600)
    const duplicate = c.lease('spare')!
    expect(duplicate.taskId).toBe(stuck.taskId)
    expect(submitHonest(c, 'spare', duplicate).outcome).toBe('accepted')
    expect((await c.getJob(job.id)).status).toBe('completed')
    expect(submitHonest(c, 'stuck', stuck).outcome).toBe('stale')
  })
})

describe('coordinator: jobs, credits and scheduling', () => {
  it('leases only to devices that list the kernel and can hold the tiles', () => {
    const c = make({ tileSize: 64 })
    // 64-edge tiles over k = 1024: each band is 256 KiB.
    c.submitMatmul(matrices(128, 1024, 128))
    c.registerContributor('custom-only', { ...caps, kernels: ['custom'] })
    c.registerContributor('small', { ...caps, limits: { maxStorageBufferBindingSize: 128 * 1024 } })
    c.registerContributor('fits', { ...caps, limits: { maxStorageBufferBindingSize: 256 * 1024 } })
    expect(c.lease('custom-only')).toBeUndefined()
    expect(c.lease('small')).toBeUndefined()
    expect(c.lease('fits')?.program).toEqual({ kind: 'matmul', m: 64, k: 1024, n: 64 })
  })

  it('shares contributors between jobs in proportion to their priority', () => {
    const blobs = createMemoryBlobStore()
    // One peer takes many leases in a row here, to see which job each comes from.
    const c = make({ blobs, tileSize: 1, maxLeasesPerPeer: Number.POSITIVE_INFINITY })
    const low = c.submitMatmul(matrices(20, 2, 20))
    const high = c.submitMatmul(matrices(20, 2, 20))
    void low
    // Re-submit `high` with priority 3 through the spec path.
    void high
    const prioritised = blobSpec(blobs, 20, 2, 20, { priority: 3 })
    return c.submit(prioritised, { account: 'p' }).then((job) => {
      c.registerContributor('w', caps)
      const served = new Map<string, number>()
      for (let i = 0; i < 500; i++) {
        const grant = c.lease('w')!
        served.set(grant.jobId, (served.get(grant.jobId) ?? 0) + 1)
      }
      const share = served.get(job.id)! / 500
      expect(share).toBeGreaterThan(0.55)
      expect(share).toBeLessThan(0.65)
    })
  })
})
