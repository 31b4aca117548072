import { describe, expect, it } from 'vitest'
import { createMemoryBlobStore } from '../blobs/blob-store.ts'
import { createCoordinator } from '../coordinator/coordinator.ts'
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
    expect(first.get('tabswarm_verdicts_dropped_total')).toBe(2)

    jobs.statsValue.gauges.queueDepth = 0
    jobs.statsValue.counters.results[0]!.count = 150
    const second = samples((await metrics.render()).body)
    expect(second.get('tabswarm_queue_depth')).toBe(0)
    expect(second.get('tabswarm_tasks_completed_total')).toBe(154)
  })

  it('counts the bytes the relay sends, in blob responses by source and in work responses by type', async () => {
    const jobs = createFakeCoordinatorApi()
    const metrics = createRelayMetrics({ stats: () => jobs.stats(), processMetrics: false })
    metrics.blobBytesSent('job-part', 1000)
    metrics.blobBytesSent('job-part', 24)
    metrics.blobBytesSent('blob', 7)
    metrics.workBytesSent('lease', 300)
    const seen = samples((await metrics.render()).body)
    expect(seen.get('tabswarm_relay_blob_bytes_sent_total{source="job-part"}')).toBe(1024)
    expect(seen.get('tabswarm_relay_blob_bytes_sent_total{source="blob"}')).toBe(7)
    expect(seen.get('tabswarm_relay_work_bytes_sent_total{type="lease"}')).toBe(300)
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

  it('labels a result accepted by agreeing replicas as replication, from the real coordinator', async () => {
    const blobs = createMemoryBlobStore()
    const c = createCoordinator({ blobs, welcomeCredits: 1_000_000_000n })
    const metrics = createRelayMetrics({ stats: () => c.stats(), processMetrics: false })
    const f32 = (v: number[]) => new Uint8Array(new Float32Array(v).buffer)
    await c.submit(
      {
        kernel: 'custom',
        program: {
          wgsl: '@compute @workgroup_size(1) fn main() {}',
          inputs: [{ name: 'x', dtype: 'float32' }],
          outputs: [{ name: 'y', dtype: 'float32' }],
        },
        tasks: [
          {
            inputs: [{ blob: blobs.put(f32([1])).hash, dtype: 'float32', shape: [1] }],
            outputs: [{ shape: [1], dtype: 'float32' }],
            workgroups: [1, 1, 1],
          },
        ],
        verification: { canaries: 0 },
      },
      { account: 'r' },
    )
    const caps = {
      adapter: { vendor: 't', architecture: 't', device: '', description: '' },
      features: [],
      limits: {},
      kernels: ['custom'],
      agent: 't',
    }
    c.registerContributor('p', { capabilities: caps, address: '10.0.0.1' })
    c.registerContributor('q', { capabilities: caps, address: '10.0.0.2' })
    const out = [{ shape: [1], dtype: 'float32' as const, bytes: f32([2]) }]
    expect(c.submitResult('p', c.lease('p')!.leaseId, out).outcome).toBe('pending')
    expect(c.submitResult('q', c.lease('q')!.leaseId, out).outcome).toBe('accepted')
    const values = samples((await metrics.render()).body)
    const verifications = (method: string, result: string) =>
      values.get(`tabswarm_verifications_total{method="${method}",result="${result}"}`)
    expect(verifications('replication', 'accepted')).toBe(1)
    expect(verifications('replication', 'pending')).toBe(1)
    expect(verifications('trusted', 'accepted')).toBeUndefined()
    c.close()
  })

  it('exports Node process metrics unless told not to', async () => {
    const metrics = createRelayMetrics({ stats: () => createFakeCoordinatorApi().stats() })
    expect((await metrics.render()).body).toContain('process_cpu_user_seconds_total')
  })
})
