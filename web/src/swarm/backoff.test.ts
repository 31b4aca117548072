import { describe, expect, it } from 'vitest'
import { backoffDelay } from './backoff.ts'

describe('reconnect backoff', () => {
  it('grows exponentially up to the cap', () => {
    const top = (attempt: number) => backoffDelay(attempt, { random: () => 0.999999 })
    expect(top(0)).toBe(500)
    expect(top(1)).toBe(1000)
    expect(top(4)).toBe(8000)
    expect(top(10)).toBe(30_000)
    expect(top(1000)).toBe(30_000)
  })

  it('jitters between a tenth of the ceiling and the ceiling', () => {
    expect(backoffDelay(3, { random: () => 0 })).toBe(400)
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(3)))
    expect(delays.size).toBeGreaterThan(10)
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(400)
  })
})
