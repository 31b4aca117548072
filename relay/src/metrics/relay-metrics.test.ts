import { describe, expect, it } from 'vitest'
import { createFakeCoordinatorApi } from '../http/testing/fake-coordinator-api.ts'
import { createTestApi } from '../http/testing/test-api.ts'
import { createRelayMetrics } from './relay-metrics.ts'

/** `name{labels} value` lines of an exposition, without comments. */
const samples = (text: string) =>
  new Map(
    text
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => {
        const at = line.lastIndexOf(' ')
        return [line.slice(0, at), Number(line.slice(at + 1))] as const
      }),
  )

describe('Prometheus metrics', () => {
  it('reads coordinator gauges and counters at scrape time', async () => {
    const jobs = createFakeCoordinatorApi()
    const metrics = createRelayMetrics({ stats: () => jobs.stats(), processMetrics: false })
    const first = samples((await metrics.render()).body)
    expect(first.get('tabswarm_queue_depth')).toBe(7)
    expect(first.get('tabswarm_leases_active')).toBe(3)
    expect(first.get('tabswarm_contributors_online')).toBe(5)
    expect(first.get('tabswarm_jobs{status="running"}')).toBe(2)
    expect(first.get('tabswarm_tasks_completed_total')).toBe(104)
    expect(first.get('tabswarm_verifications_total{method="freivalds",result="rejected"}')).toBe(4)
    expect(first.get('tabswarm_bans_total')).toBe(1)

    jobs.statsValue.gauges.queueDepth = 0
    jobs.statsValue.counters.results[0]!.count = 150
    const second = samples((await metrics.render()).body)
    expect(second.get('tabswarm_queue_depth')).toBe(0)
    expect(second.get('tabswarm_tasks_completed_total')).toBe(154)
  })

  it('counts HTTP requests by route pattern and status, and serves the exposition', async () => {
    const { app } = createTestApi()
    await app.request('/v1/jobs/nosuch')
    await app.request('/v1/jobs/other')
    await app.request('/v1/health')
    const response = await app.request('/metrics')
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await response.text()
    const values = samples(text)
    expect(
      values.get('tabswarm_http_requests_total{method="GET",route="/v1/jobs/:id",status="404"}'),
    ).toBe(2)
    expect(
      values.get('tabswarm_http_requests_total{method="GET",route="/v1/health",status="200"}'),
    ).toBe(1)
    expect(text).toContain('# TYPE tabswarm_http_request_duration_seconds histogram')
  })

  it('exports Node process metrics unless told not to', async () => {
    const metrics = createRelayMetrics({ stats: () => createFakeCoordinatorApi().stats() })
    expect((await metrics.render()).body).toContain('process_cpu_user_seconds_total')
  })
})
