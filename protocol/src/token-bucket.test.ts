import { describe, expect, it } from 'vitest'
import { createTokenBucketLimiter } from './token-bucket.ts'

describe('token bucket', () => {
  it('allows a burst, then the sustained rate, and says when to retry', () => {
    let now = 0
    const limiter = createTokenBucketLimiter({ ratePerSecond: 2, burst: 3, now: () => now })
    expect([1, 2, 3].map(() => limiter.take('a').ok)).toEqual([true, true, true])
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterMs: 500 })
    expect(limiter.take('b').ok).toBe(true)
    now = 500
    expect(limiter.take('a').ok).toBe(true)
    expect(limiter.take('a').ok).toBe(false)
    now = 10_000
    expect([1, 2, 3, 4].map(() => limiter.take('a').ok)).toEqual([true, true, true, false])
  })

  it('bounds the keys it tracks, dropping full buckets first', () => {
    let now = 0
    const limiter = createTokenBucketLimiter({
      ratePerSecond: 1,
      burst: 1,
      now: () => now,
      maxKeys: 3,
    })
    for (const key of ['a', 'b', 'c']) limiter.take(key)
    now = 5_000
    limiter.take('d')
    expect(limiter.size).toBe(1)
  })

  it('survives a flood of new keys: the busy ones stay, sweeps are rare', () => {
    let now = 0
    const limiter = createTokenBucketLimiter({
      ratePerSecond: 1,
      burst: 100,
      now: () => now,
      maxKeys: 100,
    })
    limiter.take('busy', 50)
    for (let i = 0; i < 10_000; i++) {
      now++
      limiter.take(`flood-${i}`)
      if (i % 10 === 0) limiter.take('busy', 0)
      expect(limiter.size).toBeLessThanOrEqual(100)
    }
    // The busy key kept its bucket (its spent tokens) through the flood: it was never the
    // least recently used.
    expect(limiter.take('busy', 100).ok).toBe(false)
  })

  it('refills nothing when the clock steps back', () => {
    let now = 10_000
    const limiter = createTokenBucketLimiter({ ratePerSecond: 1, burst: 2, now: () => now })
    limiter.take('a', 2)
    now = 0
    expect(limiter.take('a').ok).toBe(false)
    now = 1_000
    expect(limiter.take('a').ok).toBe(true)
  })

  it('refuses nonsense settings', () => {
    expect(() => createTokenBucketLimiter({ ratePerSecond: 0, burst: 1 })).toThrow(
      /ratePerSecond > 0/,
    )
  })
})
