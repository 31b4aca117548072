import { NetworkStatsSchema, STATS_HOURS } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { createTestApi } from './testing/test-api.ts'

describe('HTTP API: GET /v1/stats', () => {
  it('answers the public figures without credentials, to any origin, on a keyed relay', async () => {
    const { app } = createTestApi({ apiKeys: { alice: 'tsk_alice_0123456789abcdefghijkl' } })
    const response = await app.request('/v1/stats', {
      headers: { origin: 'https://stats.example' },
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    const stats = NetworkStatsSchema.parse(await response.json())
    expect(stats).toMatchObject({
      contributors: { online: 5, gflopPerSecond: 250 },
      compute: { totalGflop: 1234.5, tasks: 100 },
      jobs: { total: 12, byStatus: { running: 2, completed: 9, failed: 1, cancelled: 0 } },
      // Not a settling relay: nothing settled.
      credits: { paid: '1000', settled: '0' },
    })
    expect(stats.compute.hourly).toHaveLength(STATS_HOURS)
    // The rest of the API still needs the key.
    expect((await app.request('/v1/jobs')).status).toBe(401)
  })

  it('reads the coordinator at most once a second, however many ask', async () => {
    const { app, jobs } = createTestApi()
    let reads = 0
    const figures = jobs.networkFigures
    jobs.networkFigures = (hours) => {
      reads++
      return figures(hours)
    }
    const answers = await Promise.all(
      Array.from({ length: 20 }, async () => (await app.request('/v1/stats')).json()),
    )
    expect(reads).toBe(1)
    expect(new Set(answers.map((a) => (a as { at: number }).at)).size).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 1_050))
    await app.request('/v1/stats')
    expect(reads).toBe(2)
  })

  it('is rate limited per address like the rest of /v1, and described in the OpenAPI document', async () => {
    const { app } = createTestApi({
      apiKeys: { alice: 'tsk_alice_0123456789abcdefghijkl' },
      rateLimit: { ip: { ratePerSecond: 0.1, burst: 2 }, account: { ratePerSecond: 1, burst: 1 } },
    })
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) statuses.push((await app.request('/v1/stats')).status)
    expect(statuses).toEqual([200, 200, 429])

    const open = createTestApi().app
    const doc = (await (await open.request('/v1/openapi.json')).json()) as {
      paths: Record<string, Record<string, { security?: unknown[] }>>
    }
    expect(doc.paths['/v1/stats']?.get).toBeDefined()
  })
})
