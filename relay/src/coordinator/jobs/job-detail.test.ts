import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { JobDetailSchema, MAX_JOB_HISTORY_SAMPLES } from '@tabswarm/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryBlobStore } from '../../blobs/blob-store.ts'
import { createSqliteStore } from '../../store/sqlite-store.ts'
import { float32Output } from '../in-process-inputs.ts'
import {
  blobSpec,
  caps,
  dirs,
  fakeClock,
  honest,
  make,
  removeDirs,
  submitHonest,
  tileOf,
} from '../testing/coordinator-fixture.ts'
import { createJobHistories } from './job-history.ts'

// A job in detail (`GET /v1/jobs/:id/detail`) from a real coordinator: tasks by state,
// verification outcomes read back from the store after a restart, timings, throughput and
// the history of task states.

afterEach(removeDirs)

describe('coordinator: a job in detail', () => {
  it('counts outcomes by method, canaries and rejections, and keeps them across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'job-detail-'))
    dirs.push(dir)
    const path = join(dir, 'coordinator.db')
    const blobs = createMemoryBlobStore()
    const clock = fakeClock(10_000)
    const options = {
      blobs,
      clock,
      tileSize: 2,
      // Every result of a newcomer recomputed, none of a veteran's: the methods are certain.
      spotCheckRate: 0,
      // Every draw below the canary rate: a lease that can be a canary is one.
      random: () => 0.5,
    }
    const c = make({ ...options, store: createSqliteStore({ path }) })
    const job = await c.submit(blobSpec(blobs, 4, 2, 4, { verification: { canaries: 0.9 } }), {
      account: 'r',
    })
    c.registerContributor('worker', { capabilities: caps, address: '10.0.0.1' })
    c.registerContributor('checked', { capabilities: caps, address: '10.0.0.2' })
    c.registerContributor('cheat', { capabilities: caps, address: '10.0.0.3' })

    const running = await c.jobDetail(job.id)
    expect(JobDetailSchema.parse(running)).toEqual(running)
    expect(running.tasks).toEqual({
      total: 4,
      queued: 4,
      leased: 0,
      awaitingSecondOpinion: 0,
      awaitingConfirmation: 0,
      accepted: 0,
    })
    expect(running.flops).toBe(2 * 4 * 2 * 4)
    expect(running.timings).toEqual({ createdAt: 10_000, elapsedMs: 0 })
    expect(running.job.waiting?.reason).toBe('computing')

    // A wrong tile from a newcomer: recomputed, rejected.
    clock.advance(1_000)
    const wrong = c.lease('cheat')!
    const bad = honest(c, wrong)
    bad[0]! += 1
    expect(
      c.submitResult('cheat', wrong.leaseId, [
        float32Output(bad, [tileOf(wrong).m, tileOf(wrong).n]),
      ]).outcome,
    ).toBe('rejected')
    // The honest worker: recomputed first (a newcomer), then Freivalds.
    clock.advance(1_000)
    expect(submitHonest(c, 'worker', c.lease('worker')!).outcome).toBe('accepted')
    const leased = c.lease('worker')!
    const midway = await c.jobDetail(job.id)
    expect(midway.tasks).toEqual({
      total: 4,
      queued: 2,
      leased: 1,
      awaitingSecondOpinion: 0,
      awaitingConfirmation: 0,
      accepted: 1,
    })
    expect(midway.timings.firstLeaseAt).toBe(11_000)
    expect(midway.timings.firstAcceptedAt).toBe(12_000)
    // One accepted within the last minute, 1 s into the run: counted over a second at least.
    expect(midway.throughput.tasksPerSecond).toBe(1)
    expect(midway.throughput.gflopPerSecond).toBeCloseTo((1 * 64) / 4 / 1e9)
    clock.advance(1_000)
    expect(submitHonest(c, 'worker', leased).outcome).toBe('accepted')
    // Once a tile is accepted, a contributor who did not compute it may be tested with it.
    const canary = c.lease('checked')!
    expect(submitHonest(c, 'checked', canary).outcome).toBe('accepted')
    for (let grant = c.lease('worker'); grant; grant = c.lease('worker'))
      expect(submitHonest(c, 'worker', grant).outcome).toBe('accepted')
    clock.advance(1_000)
    const done = await c.getJob(job.id)
    expect(done.status).toBe('completed')

    const before = await c.jobDetail(job.id)
    expect(before.verification).toEqual({
      freivalds: 3,
      recomputed: 1,
      agreed: 0,
      canary: 1,
      trusted: 0,
      rejected: 1,
    })
    expect(before.tasks).toMatchObject({ total: 4, accepted: 4, queued: 0 })
    expect(before.timings).toMatchObject({
      createdAt: 10_000,
      firstLeaseAt: 11_000,
      firstAcceptedAt: 12_000,
      finishedAt: done.finishedAt,
      elapsedMs: done.finishedAt! - 10_000,
    })
    // Ended and still in memory: its history ends with the end.
    expect(before.history.at(-1)).toMatchObject({ at: done.finishedAt, accepted: 4, rejected: 1 })
    c.close()

    // The store reopened: the outcomes are read back; the history is the start and the end.
    const again = make({ ...options, store: createSqliteStore({ path }) })
    const after = await again.jobDetail(job.id)
    expect(after.verification).toEqual(before.verification)
    expect(after.timings).toEqual(before.timings)
    expect(after.tasks).toEqual(before.tasks)
    expect(after.flops).toBe(before.flops)
    expect(after.history).toEqual([
      {
        at: 10_000,
        queued: 4,
        leased: 0,
        awaitingSecondOpinion: 0,
        awaitingConfirmation: 0,
        accepted: 0,
        rejected: 0,
      },
      {
        at: done.finishedAt,
        queued: 0,
        leased: 0,
        awaitingSecondOpinion: 0,
        awaitingConfirmation: 0,
        accepted: 4,
        rejected: 1,
      },
    ])
    expect(after.throughput.tasksPerSecond).toBeCloseTo(4 / ((done.finishedAt! - 11_000) / 1000))
    again.close()
  })

  it('samples a running job’s task states over time', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs, tileSize: 2, historyIntervalMs: 20, watchIntervalMs: 10 })
    try {
      const job = await c.submit(blobSpec(blobs, 4, 2, 4), { account: 'r' })
      c.registerContributor('p1', caps)
      await expect
        .poll(async () => (await c.jobDetail(job.id)).history.length, { timeout: 2_000 })
        .toBeGreaterThanOrEqual(2)
      c.lease('p1')
      await expect
        .poll(async () => (await c.jobDetail(job.id)).history.at(-1)?.leased, { timeout: 2_000 })
        .toBe(1)
      const { history } = await c.jobDetail(job.id)
      expect(history[0]).toMatchObject({ queued: 4, leased: 0, accepted: 0 })
      for (let i = 1; i < history.length; i++)
        expect(history[i]!.at).toBeGreaterThanOrEqual(history[i - 1]!.at)
    } finally {
      c.close()
    }
  })
})

describe('job histories', () => {
  const sample = (at: number) => ({
    at,
    queued: 0,
    leased: 0,
    awaitingSecondOpinion: 0,
    awaitingConfirmation: 0,
    accepted: at,
    rejected: 0,
  })

  it('thins a long history evenly, keeping the first and the latest, and keeps the end', () => {
    const histories = createJobHistories({ intervalMs: 10, maxSamples: 8, keepEnded: 1 })
    histories.begin('j', sample(0))
    let now = 0
    for (let i = 0; i < 40; i++) {
      now += 10
      if (histories.due('j', now)) histories.record('j', sample(now))
    }
    const samples = histories.samples('j')!
    expect(samples.length).toBeLessThanOrEqual(8)
    expect(samples[0]!.at).toBe(0)
    const gaps = samples.slice(1).map((s, i) => s.at - samples[i]!.at)
    // Evenly spaced: every gap the same, doubled at each thinning (10 → 20 → 40 → 80).
    expect(new Set(gaps).size).toBe(1)
    histories.end('j', sample(now + 1))
    expect(histories.samples('j')!.at(-1)!.at).toBe(now + 1)
    // Only the latest ended job's history is kept.
    histories.begin('k', sample(0))
    histories.end('k', sample(5))
    expect(histories.samples('j')).toBeUndefined()
    expect(histories.samples('k')).toHaveLength(2)
  })

  it('holds at most MAX_JOB_HISTORY_SAMPLES by default', () => {
    const histories = createJobHistories({ intervalMs: 1 })
    histories.begin('j', sample(0))
    for (let at = 1; at <= 5_000; at++)
      if (histories.due('j', at)) histories.record('j', sample(at))
    expect(histories.samples('j')!.length).toBeLessThanOrEqual(MAX_JOB_HISTORY_SAMPLES)
    expect(histories.samples('j')!.length).toBeGreaterThan(MAX_JOB_HISTORY_SAMPLES / 2)
  })
})
