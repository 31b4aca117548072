import type pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { relaysMigration } from '../store/postgres/migrations/relays.ts'
import { applyPostgresMigrations } from '../store/postgres/postgres-migrations.ts'
import { createPostgresPool } from '../store/postgres/postgres-pool.ts'
import {
  type PostgresServer,
  startPostgresServer,
} from '../store/postgres/testing/postgres-server.ts'
import { createRelayRegistry, type RelaySelf } from './relay-registry.ts'

const PEER_A = '12D3KooWAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
const PEER_B = '12D3KooWBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'

const selfOf = (id: string, peerId: string, port: number): RelaySelf => ({
  id,
  peerId,
  multiaddrs: () => [`/ip4/127.0.0.1/tcp/${port}/ws/p2p/${peerId}`],
  url: `http://127.0.0.1:${port - 1}`,
})

/** The relays registry on a real PostgreSQL: registration, heartbeats and the live bound. */
describe('relay registry', () => {
  let server: PostgresServer
  const pools: pg.Pool[] = []
  beforeAll(async () => {
    server = await startPostgresServer()
  }, 90_000)
  afterAll(async () => {
    await server?.stop()
  })
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.end()))
  })

  async function freshPool() {
    const pool = createPostgresPool(await server.createDatabase(), { max: 2 })
    pools.push(pool)
    await applyPostgresMigrations(pool, [relaysMigration])
    return pool
  }

  it('lists the relays seen within the bound, and a relay’s peers without itself', async () => {
    const pool = await freshPool()
    let clock = 1_000_000
    const now = () => clock
    const a = createRelayRegistry({
      pool,
      self: selfOf('a-1', PEER_A, 9001),
      now,
      liveWithinMs: 15_000,
    })
    await a.register()
    clock += 10
    const b = createRelayRegistry({
      pool,
      self: selfOf('b-1', PEER_B, 9002),
      now,
      liveWithinMs: 15_000,
    })
    await b.register()

    expect((await a.live()).map((r) => r.peerId)).toEqual([PEER_B, PEER_A])
    expect(await a.peers()).toEqual([
      {
        peerId: PEER_B,
        multiaddrs: [`/ip4/127.0.0.1/tcp/9002/ws/p2p/${PEER_B}`],
        url: 'http://127.0.0.1:9001',
      },
    ])

    // B stops heartbeating; A goes on. Past the bound, B is no longer listed.
    clock += 10_000
    await a.heartbeat()
    expect((await a.peers()).map((r) => r.peerId)).toEqual([PEER_B])
    clock += 5_001
    await a.heartbeat()
    expect(await a.peers()).toEqual([])
    expect((await b.peers()).map((r) => r.peerId)).toEqual([PEER_A])

    // A heartbeat brings it back.
    await b.heartbeat()
    expect((await a.peers()).map((r) => r.peerId)).toEqual([PEER_B])
  })

  it('a restarted relay replaces its earlier row; a deleted row is written again', async () => {
    const pool = await freshPool()
    const first = createRelayRegistry({ pool, self: selfOf('a-1', PEER_A, 9001) })
    await first.register()
    const second = createRelayRegistry({ pool, self: selfOf('a-2', PEER_A, 9101) })
    await second.register()
    const { rows } = await pool.query<{ id: string }>('SELECT id FROM relays')
    expect(rows.map((r) => r.id)).toEqual(['a-2'])
    expect((await second.live())[0]?.multiaddrs).toEqual([
      `/ip4/127.0.0.1/tcp/9101/ws/p2p/${PEER_A}`,
    ])

    await pool.query('DELETE FROM relays')
    await second.heartbeat()
    expect((await second.live()).map((r) => r.peerId)).toEqual([PEER_A])
  })

  it('ignores a row another relay wrote badly', async () => {
    const pool = await freshPool()
    const a = createRelayRegistry({ pool, self: selfOf('a-1', PEER_A, 9001) })
    await a.register()
    await pool.query(
      `INSERT INTO relays (id, peer_id, multiaddrs, http_url, seen_at, started_at)
       VALUES ('x', 'x', '[]'::jsonb, 'ftp://nope', $1, 0)`,
      [Date.now()],
    )
    expect((await a.live()).map((r) => r.peerId)).toEqual([PEER_A])
  })

  it('run registers, heartbeats, and removes the row when stopped', async () => {
    const pool = await freshPool()
    const a = createRelayRegistry({ pool, self: selfOf('a-1', PEER_A, 9001), heartbeatMs: 50 })
    const stop = new AbortController()
    const running = a.run(stop.signal)
    await expect.poll(async () => (await a.live()).length, { timeout: 5_000 }).toBe(1)
    const seen = async () =>
      Number((await pool.query<{ s: string }>('SELECT seen_at AS s FROM relays')).rows[0]?.s)
    const before = await seen()
    await expect.poll(seen, { timeout: 5_000 }).toBeGreaterThan(before)
    stop.abort()
    await running
    expect(await a.live()).toEqual([])
  })
})
