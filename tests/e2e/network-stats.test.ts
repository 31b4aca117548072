import { NetworkStatsSchema, STATS_HOURS } from '@tabswarm/protocol'
import { float32Output, matmulOperands } from '@tabswarm/relay'
import { matmulReference } from '@tabswarm/worker-kernels'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'

/** GET /v1/stats of a real relay: public, and its compute survives a restart. */
describe('the public figures of a running relay', () => {
  let relay: InProcessRelay
  beforeAll(async () => {
    relay = await startInProcessRelay({ tileSize: 8 })
  })
  afterAll(async () => {
    await relay?.stop()
  })

  const stats = async () => {
    const response = await fetch(`${relay.running.url}/v1/stats`, {
      headers: { origin: 'https://elsewhere.example' },
      signal: AbortSignal.timeout(10_000),
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    return NetworkStatsSchema.parse(await response.json())
  }

  it('counts the GFLOP of accepted work per hour, and keeps it across a restart', async () => {
    const before = await stats()
    expect(before.compute).toMatchObject({ totalGflop: 0, tasks: 0 })
    expect(before.compute.hourly).toHaveLength(STATS_HOURS)
    expect(before.credits).toEqual({ paid: '0', settled: '0' })

    // A contributor in this process: 16×8×16 in 8-tiles, 4 tasks of 2·8·8·8 flops.
    const c = relay.running.coordinator
    c.registerContributor('in-process', {
      capabilities: {
        adapter: { vendor: 'test', architecture: 'test', device: '', description: '' },
        features: [],
        limits: {},
        kernels: ['matmul'],
        agent: 'test',
      },
      gflops: 42,
    })
    const a = Float32Array.from({ length: 16 * 8 }, (_, i) => (i % 5) - 2)
    const b = Float32Array.from({ length: 8 * 16 }, (_, i) => (i % 3) - 1)
    const job = c.submitMatmul({ a, b, m: 16, k: 8, n: 16 })
    for (let grant = c.lease('in-process'); grant != null; grant = c.lease('in-process')) {
      const { a: ta, b: tb, m, k, n } = matmulOperands(c, grant)
      c.submitResult('in-process', grant.leaseId, [
        float32Output(matmulReference(ta, tb, m, k, n), [m, n]),
      ])
    }
    await c.durable()
    expect((await c.getJob(job.id)).status).toBe('completed')
    // Past the one-second cache.
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    const after = await stats()
    expect(after.contributors).toEqual({ online: 1, gflopPerSecond: 42 })
    expect(after.compute.tasks).toBe(4)
    expect(after.compute.totalGflop).toBeCloseTo(4096 / 1e9, 15)
    expect(after.compute.hourly.at(-1)).toMatchObject({ tasks: 4 })
    expect(after.jobs).toMatchObject({ total: 1, byStatus: { completed: 1 } })
    expect(BigInt(after.credits.paid)).toBeGreaterThan(0n)

    await relay.restart()
    const restarted = await stats()
    expect(restarted.compute.tasks).toBe(4)
    expect(restarted.compute.totalGflop).toBeCloseTo(after.compute.totalGflop, 15)
    expect(restarted.credits.paid).toBe(after.credits.paid)
    expect(restarted.contributors.online).toBe(0)
  })
})
