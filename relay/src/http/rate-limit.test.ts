import { describe, expect, it } from 'vitest'
import { isLoopbackAddress } from './auth/authenticate.ts'
import { createTokenBucketLimiter } from './rate-limit.ts'
import { createTestApi } from './testing/test-api.ts'

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

  it('refuses nonsense settings', () => {
    expect(() => createTokenBucketLimiter({ ratePerSecond: 0, burst: 1 })).toThrow(
      /ratePerSecond > 0/,
    )
  })
})

describe('HTTP API: rate limits', () => {
  it('answers 429 with Retry-After per account, and per address before authenticating', async () => {
    const { app } = createTestApi({
      apiKeys: {
        alice: 'tsk_alice_0123456789abcdefghijkl',
        bob: 'tsk_bob_0123456789abcdefghijklmn',
      },
      rateLimit: { ip: { ratePerSecond: 1, burst: 4 }, account: { ratePerSecond: 0.5, burst: 2 } },
    })
    const as = (key: string) => ({ headers: { authorization: `Bearer ${key}` } })
    expect((await app.request('/v1/jobs', as('tsk_alice_0123456789abcdefghijkl'))).status).toBe(200)
    expect((await app.request('/v1/jobs', as('tsk_alice_0123456789abcdefghijkl'))).status).toBe(200)
    const limited = await app.request('/v1/jobs', as('tsk_alice_0123456789abcdefghijkl'))
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('2')
    expect(await limited.json()).toMatchObject({
      error: { code: 'RATE_LIMITED', message: expect.stringContaining('account') },
    })
    // Bob has his own bucket; the shared address bucket (4) runs out on his second request.
    expect((await app.request('/v1/jobs', as('tsk_bob_0123456789abcdefghijklmn'))).status).toBe(200)
    const byAddress = await app.request('/v1/jobs', as('tsk_bob_0123456789abcdefghijklmn'))
    expect(byAddress.status).toBe(429)
    expect(await byAddress.json()).toMatchObject({
      error: { message: expect.stringContaining('address') },
    })
  })
})

describe('HTTP API: rate limits on an open local relay', () => {
  it('does not limit the local account', async () => {
    const { app } = createTestApi({
      rateLimit: {
        ip: { ratePerSecond: 100, burst: 100 },
        account: { ratePerSecond: 0.1, burst: 1 },
      },
    })
    const statuses = await Promise.all(
      [1, 2, 3, 4, 5].map(async () => (await app.request('/v1/jobs')).status),
    )
    expect(statuses).toEqual([200, 200, 200, 200, 200])
  })

  it('knows loopback peers, IPv4-mapped ones included', () => {
    expect(['127.0.0.1', '::1', '::ffff:127.0.0.1'].map(isLoopbackAddress)).toEqual([
      true,
      true,
      true,
    ])
    expect(['10.0.0.1', '::ffff:10.0.0.1', 'unknown'].map(isLoopbackAddress)).toEqual([
      false,
      false,
      false,
    ])
  })
})
