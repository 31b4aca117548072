import { describe, expect, it } from 'vitest'
import { KERNEL_DEADLINE_MARGIN_MS } from '../constants.ts'
import { kernelDeadlineMs } from './kernel-deadline.ts'

describe('kernelDeadlineMs', () => {
  it('keeps a margin below the lease: 10 s of a long lease, a quarter of a short one', () => {
    expect(kernelDeadlineMs(60_000)).toBe(50_000)
    expect(kernelDeadlineMs(600_000)).toBe(600_000 - KERNEL_DEADLINE_MARGIN_MS)
    expect(kernelDeadlineMs(8_000)).toBe(6_000)
    expect(kernelDeadlineMs(2_000)).toBe(1_500)
  })

  it('is always below the lease and positive', () => {
    for (const lease of [2, 10, 999, 40_000, 40_001, 3_600_000]) {
      const deadline = kernelDeadlineMs(lease)
      expect(deadline).toBeLessThan(lease)
      expect(deadline).toBeGreaterThan(0)
      expect(Number.isInteger(deadline)).toBe(true)
    }
    // A lease with no time left: a deadline executors accept, which fails at once.
    expect(kernelDeadlineMs(0)).toBe(1)
  })

  it('takes its margin from options, and refuses values that make no deadline', () => {
    expect(kernelDeadlineMs(60_000, { marginMs: 2_000 })).toBe(58_000)
    expect(kernelDeadlineMs(60_000, { marginFraction: 0.01 })).toBe(59_400)
    expect(() => kernelDeadlineMs(Number.NaN)).toThrow(RangeError)
    expect(() => kernelDeadlineMs(1_000, { marginFraction: 1 })).toThrow(/marginFraction/)
    expect(() => kernelDeadlineMs(1_000, { marginMs: -1 })).toThrow(/marginMs/)
  })
})
