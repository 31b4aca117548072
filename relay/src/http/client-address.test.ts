import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import type { ApiEnv } from './api-env.ts'
import { clientAddress, forwardedClient } from './client-address.ts'

describe('client address behind reverse proxies', () => {
  it('takes the entry the trusted proxies appended, never one the client wrote', () => {
    // The client sent "X-Forwarded-For: 6.6.6.6"; our proxy appended the address it saw.
    expect(forwardedClient('6.6.6.6, 203.0.113.5', 1)).toBe('203.0.113.5')
    expect(forwardedClient('203.0.113.5', 1)).toBe('203.0.113.5')
    // A CDN then a load balancer: the CDN appended the client, the balancer the CDN.
    expect(forwardedClient('6.6.6.6, 203.0.113.5, 198.51.100.1', 2)).toBe('203.0.113.5')
    expect(forwardedClient('203.0.113.5', 2)).toBeUndefined()
    expect(forwardedClient('[2001:db8::1]:443', 1)).toBe('2001:db8::1')
    expect(forwardedClient('203.0.113.5:1234', 1)).toBe('203.0.113.5')
    expect(forwardedClient('6.6.6.6, not-an-ip', 1)).toBeUndefined()
    expect(forwardedClient(undefined, 1)).toBeUndefined()
    expect(forwardedClient('203.0.113.5', 0)).toBeUndefined()
  })

  it('sets clientIp from the header only when told to trust a proxy', async () => {
    const app = (trustProxy: boolean | number) =>
      new Hono<ApiEnv>()
        .use(clientAddress({ trustProxy }))
        .get('/', (c) => c.text(c.get('clientIp')))
    const headers = { 'x-forwarded-for': '6.6.6.6, 203.0.113.5' }
    expect(await (await app(true).request('/', { headers })).text()).toBe('203.0.113.5')
    expect(await (await app(2).request('/', { headers })).text()).toBe('6.6.6.6')
    expect(await (await app(false).request('/', { headers })).text()).toBe('unknown')
  })
})
