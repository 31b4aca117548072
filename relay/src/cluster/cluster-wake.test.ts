import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPostgresPool, withTransaction } from '../store/postgres/postgres-pool.ts'
import {
  type PostgresServer,
  startPostgresServer,
} from '../store/postgres/testing/postgres-server.ts'
import {
  CLUSTER_CHANNEL,
  type ClusterWake,
  listenCluster,
  notifyCluster,
  parseClusterEvent,
} from './cluster-wake.ts'

let server: PostgresServer

beforeAll(async () => {
  server = await startPostgresServer()
}, 120_000)
afterAll(async () => {
  await server?.stop()
})

describe('cluster wake (LISTEN/NOTIFY)', () => {
  it('wakes a listener on commit, well under the poll interval; not on rollback; reconnects after a server restart', async () => {
    const url = await server.createDatabase()
    const pool = createPostgresPool(url, { max: 2, connectionTimeoutMs: 1_000 })
    const pollMs = 2_000
    const wakes: Array<ClusterWake & { at: number }> = []
    const listener = listenCluster({
      url,
      pollMs,
      heartbeatMs: 1_000,
      onWake: (wake) => wakes.push({ ...wake, at: performance.now() }),
    })
    try {
      await expect.poll(() => listener.connected).toBe(true)
      const notifies = () => wakes.filter((w) => w.reason === 'notify')

      // Rolled back: never delivered.
      await expect(
        withTransaction(pool, async (client) => {
          await notifyCluster(client, { type: 'tasks', jobId: 'rolled-back' })
          throw new Error('roll back')
        }),
      ).rejects.toThrow('roll back')
      // Malformed payloads on our channel are counted and ignored.
      await pool.query('SELECT pg_notify($1, $2)', [CLUSTER_CHANNEL, '{"type":"tasks"}'])
      await pool.query('SELECT pg_notify($1, $2)', [CLUSTER_CHANNEL, 'x'.repeat(2_000)])

      const latencies: number[] = []
      for (let i = 0; i < 20; i++) {
        let committedAt = 0
        await withTransaction(pool, async (client) => {
          await notifyCluster(client, { type: 'tasks', jobId: `job-${i}` })
          committedAt = performance.now()
        })
        await expect.poll(() => notifies().length, { interval: 1 }).toBe(i + 1)
        latencies.push((notifies()[i]?.at as number) - committedAt)
      }
      expect(notifies().map((w) => (w.reason === 'notify' ? w.event : undefined))).toEqual(
        Array.from({ length: 20 }, (_, i) => ({ type: 'tasks', jobId: `job-${i}` })),
      )
      expect(listener.stats().invalid).toBe(2)
      latencies.sort((a, b) => a - b)
      const p99 = latencies.at(-1) as number
      console.log(
        `NOTIFY → wake: p50 ${latencies[10]?.toFixed(1)} ms, max ${p99.toFixed(1)} ms (poll interval ${pollMs} ms)`,
      )
      expect(p99).toBeLessThan(pollMs / 10)
      expect(wakes.filter((w) => w.reason === 'poll')).toEqual([])

      // The server restarts: the listener polls while it is gone, then listens again.
      await server.pause()
      await expect.poll(() => listener.connected, { timeout: 5_000 }).toBe(false)
      await expect
        .poll(() => wakes.filter((w) => w.reason === 'poll').length, { timeout: 3 * pollMs })
        .toBeGreaterThan(0)
      await server.resume()
      await expect.poll(() => listener.connected, { timeout: 10_000 }).toBe(true)
      expect(wakes.filter((w) => w.reason === 'reconnected')).toHaveLength(1)
      await withTransaction(pool, (client) =>
        notifyCluster(client, { type: 'released', by: 'coord-a', jobs: 3 }),
      )
      await expect
        .poll(() => notifies().at(-1))
        .toMatchObject({ event: { type: 'released', by: 'coord-a', jobs: 3 } })
      expect(listener.stats()).toMatchObject({ connects: 2, disconnects: 1, notifications: 21 })
    } finally {
      await listener.close()
      await server.resume()
      await pool.end()
    }
    expect(listener.connected).toBe(false)
  }, 40_000)

  it('polls while it cannot connect at all', async () => {
    const listener = listenCluster({
      url: 'postgres://nobody@127.0.0.1:1/none',
      pollMs: 50,
      onWake: () => {},
    })
    try {
      await expect.poll(() => listener.stats().polls).toBeGreaterThan(2)
      expect(listener.connected).toBe(false)
    } finally {
      await listener.close()
    }
  })

  it('refuses to send or accept what is not a cluster event', async () => {
    expect(parseClusterEvent('{"type":"ended","jobId":"j"}')).toEqual({ type: 'ended', jobId: 'j' })
    expect(parseClusterEvent('{"type":"ended","jobId":"j","extra":1}')).toBeUndefined()
    // The task-offer exchange's events (`task-offers.ts`).
    expect(parseClusterEvent('{"type":"offers","by":"coord-a","count":3}')).toEqual({
      type: 'offers',
      by: 'coord-a',
      count: 3,
    })
    expect(parseClusterEvent('{"type":"offers","by":"coord-a","count":0}')).toBeUndefined()
    expect(parseClusterEvent('{"type":"returns","to":"coord-a"}')).toEqual({
      type: 'returns',
      to: 'coord-a',
    })
    expect(parseClusterEvent('{"type":"verdicts","to":"relay-b"}')).toEqual({
      type: 'verdicts',
      to: 'relay-b',
    })
    expect(parseClusterEvent('{"type":"verdicts","to":""}')).toBeUndefined()
    expect(parseClusterEvent('not json')).toBeUndefined()
    const client = new pg.Client()
    await expect(notifyCluster(client, { type: 'tasks', jobId: 'x'.repeat(201) })).rejects.toThrow()
    await expect(
      // @ts-expect-error a type that is not an event
      notifyCluster(client, { type: 'nonsense' }),
    ).rejects.toThrow()
  })
})
