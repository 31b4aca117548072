import { describe, expect, it } from 'vitest'
import { apiConfigFromEnv } from './api-config.ts'
import { createTestApi } from './testing/test-api.ts'

const KEY = 'tsk_cors_test_0123456789abcdefghij'

describe('cross-origin API calls', () => {
  it('answers preflights and requests from a listed origin, and nobody else', async () => {
    const { app } = createTestApi({ apiKeys: { lab: KEY }, corsOrigins: ['https://lab.example'] })
    const preflight = await app.request('/v1/jobs', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://lab.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://lab.example')
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/)
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/x-tabswarm-signature/)
    // Keys travel in a header, never a cookie: no credentials mode.
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull()
    const listed = await app.request('/v1/jobs', {
      headers: { origin: 'https://lab.example', authorization: `Bearer ${KEY}` },
    })
    expect(listed.status).toBe(200)
    expect(listed.headers.get('access-control-allow-origin')).toBe('https://lab.example')
    expect(listed.headers.get('access-control-expose-headers')).toMatch(/x-tabswarm-shape/)
    const other = await app.request('/v1/jobs', {
      headers: { origin: 'https://evil.example', authorization: `Bearer ${KEY}` },
    })
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('lets any page read where to dial (/v1/swarm), whatever the listed origins', async () => {
    for (const corsOrigins of [[], ['https://lab.example']]) {
      const { app } = createTestApi({ apiKeys: { lab: KEY }, corsOrigins })
      const swarm = await app.request('/v1/swarm', { headers: { origin: 'https://site.example' } })
      expect(swarm.status).toBe(200)
      expect(swarm.headers.get('access-control-allow-origin')).toBe('*')
      expect(swarm.headers.get('access-control-allow-credentials')).toBeNull()
      // Only that public read: the rest keeps the listed origins' policy.
      const health = await app.request('/v1/health', {
        headers: { origin: 'https://site.example' },
      })
      expect(health.headers.get('access-control-allow-origin')).toBeNull()
    }
  })

  it('sends no CORS headers by default', async () => {
    const { app } = createTestApi({ apiKeys: { lab: KEY } })
    const response = await app.request('/v1/jobs', {
      headers: { origin: 'https://lab.example', authorization: `Bearer ${KEY}` },
    })
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('refuses, on an open local relay, a page from elsewhere and a DNS-rebound host', async () => {
    const { app, jobs } = createTestApi({ openToLocal: true })
    const blob = 'a'.repeat(64)
    const job = await jobs.submit(
      {
        kernel: 'matmul',
        inputs: {
          a: { blob, dtype: 'float32', shape: [2, 2] },
          b: { blob, dtype: 'float32', shape: [2, 2] },
        },
      },
      { account: 'local' },
    )
    // A simple cross-site POST needs no preflight: it must be refused, not just unreadable.
    const csrf = await app.request(`/v1/jobs/${job.id}/cancel`, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
    })
    expect(csrf.status).toBe(403)
    expect((await jobs.getJob(job.id)).status).toBe('running')
    const rebound = await app.request('http://evil.example:8787/v1/jobs', {
      headers: { host: 'evil.example:8787', origin: 'http://evil.example:8787' },
    })
    expect(rebound.status).toBe(403)
    expect(((await rebound.json()) as { error: { message: string } }).error.message).toMatch(
      /not a loopback host/,
    )
    // The relay's own pages, a local tool (no Origin), and a listed origin are fine.
    const own = await app.request('http://127.0.0.1:8787/v1/jobs', {
      headers: { host: '127.0.0.1:8787', origin: 'http://127.0.0.1:8787' },
    })
    expect(own.status).toBe(200)
    expect((await app.request('/v1/jobs')).status).toBe(200)
    const { app: listing } = createTestApi({
      openToLocal: true,
      corsOrigins: ['http://localhost:5173'],
    })
    const dev = await listing.request('/v1/jobs', { headers: { origin: 'http://localhost:5173' } })
    expect(dev.status).toBe(200)
    expect(dev.headers.get('access-control-allow-origin')).toBe('http://localhost:5173')
  })

  it('reads TABSWARM_CORS_ORIGINS, naming what it refuses', () => {
    expect(apiConfigFromEnv({}).corsOrigins).toEqual([])
    expect(apiConfigFromEnv({ TABSWARM_CORS_ORIGINS: '*' }).corsOrigins).toBe('*')
    expect(
      apiConfigFromEnv({ TABSWARM_CORS_ORIGINS: 'https://lab.example, http://localhost:5173/' })
        .corsOrigins,
    ).toEqual(['https://lab.example', 'http://localhost:5173'])
    expect(() => apiConfigFromEnv({ TABSWARM_CORS_ORIGINS: 'https://lab.example/app' })).toThrow(
      /TABSWARM_CORS_ORIGINS takes origins like https:\/\/lab.example .*got "https:\/\/lab.example\/app"/,
    )
  })
})
