import { describe, expect, it } from 'vitest'
import {
  createGpuPacer,
  INITIAL_PACED_WORK,
  MIN_GPU_SHARE,
  restAfterMs,
  SUBMISSION_TARGET_MS,
} from './gpu-pacer.ts'

describe('restAfterMs', () => {
  it.each([
    [1, 0],
    [0.5, 100],
    [0.25, 300],
    [0.1, 900],
  ])('a 100 ms submission at a share of %d rests %d ms', (share, rest) => {
    expect(restAfterMs(100, share)).toBeCloseTo(rest, 9)
    // What it is for: busy over busy plus rest is the share.
    expect(100 / (100 + restAfterMs(100, share))).toBeCloseTo(share, 9)
  })

  it.each([0, 0.05, 1.5, Number.NaN])('refuses a share of %d, naming the range', (share) => {
    expect(() => restAfterMs(100, share)).toThrow(`between ${MIN_GPU_SHARE} and 1`)
  })
})

describe('createGpuPacer', () => {
  it('owes no rest before anything ran, and the full rest right after a submission', () => {
    const pacer = createGpuPacer()
    expect(pacer.restBeforeNextMs(0.25, 0)).toBe(0)
    pacer.record('k', 1_000, 80, 1_000)
    expect(pacer.restBeforeNextMs(0.25, 1_000)).toBeCloseTo(240, 9)
    expect(pacer.restBeforeNextMs(0.5, 1_000)).toBeCloseTo(80, 9)
    expect(pacer.restBeforeNextMs(1, 1_000)).toBe(0)
  })

  it('counts idle time since the submission as rest already taken', () => {
    const pacer = createGpuPacer()
    pacer.record('k', 1_000, 100, 1_000)
    expect(pacer.restBeforeNextMs(0.5, 1_060)).toBeCloseTo(40, 9)
    expect(pacer.restBeforeNextMs(0.5, 5_000)).toBe(0)
  })

  it('holds the share over many submissions when each waits what it is told', () => {
    const pacer = createGpuPacer()
    let now = 0
    let busy = 0
    for (const busyMs of [90, 120, 60, 100, 110, 95, 105, 80]) {
      now += pacer.restBeforeNextMs(0.3, now)
      now += busyMs
      busy += busyMs
      pacer.record('k', 1, busyMs, now)
    }
    now += pacer.restBeforeNextMs(0.3, now)
    expect(busy / now).toBeCloseTo(0.3, 9)
  })

  it('sizes submissions from the measured rate of each program, averaged', () => {
    const pacer = createGpuPacer()
    expect(pacer.workPerSubmission('matmul')).toBe(INITIAL_PACED_WORK)
    pacer.record('matmul', 4_000_000, 200, 0) // 20 000 units per ms
    expect(pacer.workPerSubmission('matmul')).toBe(20_000 * SUBMISSION_TARGET_MS)
    pacer.record('matmul', 1_000_000, 100, 0) // 10 000 per ms: averaged with the last
    expect(pacer.workPerSubmission('matmul')).toBe(15_000 * SUBMISSION_TARGET_MS)
    expect(pacer.workPerSubmission('matmul', 10)).toBe(150_000)
    // Another program's rate is its own.
    expect(pacer.workPerSubmission('custom')).toBe(INITIAL_PACED_WORK)
  })

  it('learns no rate from a submission too short to time', () => {
    const pacer = createGpuPacer()
    pacer.record('k', 1_000, 0.2, 0)
    expect(pacer.workPerSubmission('k')).toBe(INITIAL_PACED_WORK)
  })
})
