import { describe, expect, it } from 'vitest'
import { isLoopbackAddress } from './auth/authenticate.ts'
import { createTestApi } from './testing/test-api.ts'

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
