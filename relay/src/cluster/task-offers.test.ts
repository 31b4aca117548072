import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { taskOffersMigration } from '../store/postgres/migrations/task-offers.ts'
import { applyPostgresMigrations } from '../store/postgres/postgres-migrations.ts'
import { createPostgresPool, withTransaction } from '../store/postgres/postgres-pool.ts'
import {
  type PostgresServer,
  startPostgresServer,
} from '../store/postgres/testing/postgres-server.ts'
import { CLUSTER_CHANNEL, type ClusterEvent, parseClusterEvent } from './cluster-wake.ts'
import {
  CorruptOfferReturnError,
  createTaskOffers,
  type OfferReturn,
  type TaskOffer,
} from './task-offers.ts'

/** The task-offer exchange on a real PostgreSQL: claims under contention, returns, verdicts. */
describe('task offers', () => {
  let server: PostgresServer
  const pools: pg.Pool[] = []
  const clients: pg.Client[] = []
  beforeAll(async () => {
    server = await startPostgresServer()
  }, 90_000)
  afterAll(async () => {
    await server?.stop()
  })
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end()))
    await Promise.all(pools.splice(0).map((pool) => pool.end()))
  })

  async function freshDatabase(max = 2) {
    const url = await server.createDatabase()
    const pool = createPostgresPool(url, { max })
    pools.push(pool)
    await applyPostgresMigrations(pool, [taskOffersMigration])
    return { url, pool, offers: createTaskOffers(pool) }
  }

  /** Every cluster event on the database at `url`, parsed as a listener parses them. */
  async function listen(url: string) {
    const client = new pg.Client({ connectionString: url })
    clients.push(client)
    await client.connect()
    const events: Array<ClusterEvent | undefined> = []
    client.on('notification', (msg) => {
      if (msg.channel === CLUSTER_CHANNEL) events.push(parseClusterEvent(msg.payload))
    })
    await client.query(`LISTEN ${CLUSTER_CHANNEL}`)
    return events
  }

  const offer = (
    n: number,
    fields: Partial<TaskOffer & { expiresInMs: number }> = {},
  ): TaskOffer & { expiresInMs: number } => ({
    offerId: `lease-${n}`,
    jobId: 'job-1',
    ownerId: 'coord-a',
    kind: 'matmul',
    grant: { taskId: `task-${n}`, inputs: [{ blob: `b${n}`, shape: [2, 3] }], note: 'é"\\' },
    expiresInMs: 30_000,
    ...fields,
  })

  it('publishes offers that another relay claims once, oldest first, grant intact', async () => {
    const { url, offers } = await freshDatabase()
    const events = await listen(url)
    await offers.publish([offer(1), offer(2), offer(3)])
    // Published again (a retry): nothing added, nothing notified.
    await offers.publish([offer(1, { grant: 'changed' })])
    await expect.poll(() => events).toEqual([{ type: 'offers', by: 'coord-a', count: 3 }])

    const claimed = await offers.claim('relay-b', ['matmul'], 10)
    expect(claimed.map(({ expiresInMs, ...rest }) => rest)).toEqual(
      [offer(1), offer(2), offer(3)].map(({ expiresInMs, ...rest }) => rest),
    )
    for (const { expiresInMs } of claimed) {
      expect(expiresInMs).toBeGreaterThan(25_000)
      expect(expiresInMs).toBeLessThanOrEqual(30_000)
    }
    expect(await offers.claim('relay-c', ['matmul'], 10)).toEqual([])
    expect(await offers.claim('relay-b', ['matmul'], 10)).toEqual([])
  })

  it('splits 600 offers between 3 relays claiming at once: each claimed exactly once', async () => {
    const { pool, offers } = await freshDatabase(6)
    const all = Array.from({ length: 600 }, (_, n) => offer(n, { jobId: `job-${n % 7}` }))
    await offers.publish(all.slice(0, 300))
    await offers.publish(all.slice(300))
    const relays = ['relay-1', 'relay-2', 'relay-3']
    const byRelay = new Map<string, string[]>(relays.map((id) => [id, []]))
    let batches = 0
    const latencies: number[] = []
    const started = performance.now()
    await Promise.all(
      relays.map(async (relayId) => {
        for (;;) {
          const at = performance.now()
          const got = await offers.claim(relayId, ['matmul'], 20)
          latencies.push(performance.now() - at)
          if (got.length === 0) return
          expect(got.length).toBeLessThanOrEqual(20)
          batches++
          byRelay.get(relayId)?.push(...got.map((o) => o.offerId))
        }
      }),
    )
    const elapsed = performance.now() - started
    latencies.sort((x, y) => x - y)
    console.log(
      `600 offers claimed by 3 relays in batches of 20: ${elapsed.toFixed(0)} ms, ${(600_000 / elapsed).toFixed(0)} offers/s; claim p50 ${latencies[Math.floor(latencies.length / 2)]?.toFixed(1)} ms, p99 ${latencies[Math.floor(latencies.length * 0.99)]?.toFixed(1)} ms`,
    )
    const claimed = [...byRelay.values()].flat()
    expect(claimed).toHaveLength(600)
    expect(new Set(claimed).size).toBe(600)
    // More than one relay got work: the claims really ran side by side.
    expect(relays.filter((id) => (byRelay.get(id)?.length ?? 0) > 0).length).toBeGreaterThan(1)
    expect(batches).toBeGreaterThanOrEqual(30)
    const { rows } = await pool.query<{ claimed_by: string; n: number }>(
      'SELECT claimed_by, count(*)::int AS n FROM task_offers GROUP BY claimed_by ORDER BY claimed_by',
    )
    expect(rows).toEqual(relays.map((id) => ({ claimed_by: id, n: byRelay.get(id)?.length })))
  }, 60_000)

  it('never claims its own offers, other kinds, expired ones or ones with under minLeftMs left', async () => {
    const { offers } = await freshDatabase()
    await offers.publish([
      offer(1, { ownerId: 'relay-b' }),
      offer(2, { kind: 'custom' }),
      offer(3, { expiresInMs: 1 }),
      offer(4, { expiresInMs: 3_000 }),
      offer(5, { expiresInMs: 8_000 }),
    ])
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect((await offers.claim('relay-b', ['matmul'], 10)).map((o) => o.offerId)).toEqual([
      'lease-5',
    ])
    expect(
      (await offers.claim('relay-b', ['matmul'], 10, { minLeftMs: 1_000 })).map((o) => o.offerId),
    ).toEqual(['lease-4'])
    expect((await offers.claim('relay-b', ['matmul'], 10, { minLeftMs: 0 })).length).toBe(0)
    expect((await offers.claim('relay-b', ['matmul', 'custom'], 10)).map((o) => o.offerId)).toEqual(
      ['lease-2'],
    )
    // Its owner's offer is open to anyone else.
    expect((await offers.claim('relay-c', ['matmul'], 10)).map((o) => o.offerId)).toEqual([
      'lease-1',
    ])
  })

  it('withdraws only unclaimed offers; a withdrawn offer cannot be claimed', async () => {
    const { pool, offers } = await freshDatabase()
    await offers.publish([offer(1), offer(2), offer(3), offer(4, { jobId: 'job-2' })])
    expect((await offers.claim('relay-b', ['matmul'], 1)).map((o) => o.offerId)).toEqual([
      'lease-1',
    ])
    expect(await offers.withdraw(['lease-1', 'lease-2', 'lease-9', 'lease-2'])).toEqual(['lease-2'])
    expect((await offers.claim('relay-b', ['matmul'], 10)).map((o) => o.offerId)).toEqual([
      'lease-3',
      'lease-4',
    ])
    expect(await offers.withdraw(['lease-3'])).toEqual([])
    // The job ended: its offers go, claimed or not.
    expect(await offers.withdrawJobs(['job-1'])).toBe(2)
    const { rows } = await pool.query('SELECT offer_id FROM task_offers')
    expect(rows).toEqual([{ offer_id: 'lease-4' }])
  })

  it('withdraw and claim racing on the same offers: each goes one way only', async () => {
    const { offers } = await freshDatabase(4)
    const all = Array.from({ length: 200 }, (_, n) => offer(n))
    await offers.publish(all)
    const [claimed, withdrawn] = await Promise.all([
      (async () => {
        const ids: string[] = []
        for (let i = 0; i < 10; i++)
          ids.push(...(await offers.claim('relay-b', ['matmul'], 20)).map((o) => o.offerId))
        return ids
      })(),
      (async () => {
        const ids: string[] = []
        for (let i = 0; i < 200; i += 25)
          ids.push(...(await offers.withdraw(all.slice(i, i + 25).map((o) => o.offerId))))
        return ids
      })(),
    ])
    expect(claimed.filter((id) => withdrawn.includes(id))).toEqual([])
    expect(claimed.length + withdrawn.length).toBe(200)
  })

  it('bounds every call: one kept waiting on a lock past its timeout gives up', async () => {
    const { pool, offers } = await freshDatabase(3)
    await offers.publish([offer(1)])
    const hasty = createTaskOffers(pool, { timeoutMs: 200 })
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    let locked: () => void = () => {}
    const isLocked = new Promise<void>((resolve) => (locked = resolve))
    // Another transaction holds the offer's row, as a claim in flight does.
    const holding = withTransaction(pool, async (client) => {
      await client.query('SELECT 1 FROM task_offers WHERE offer_id = $1 FOR UPDATE', ['lease-1'])
      locked()
      await held
    })
    await isLocked
    const started = performance.now()
    await expect(hasty.withdraw(['lease-1'])).rejects.toThrow(/timeout|aborted/i)
    expect(performance.now() - started).toBeLessThan(2_000)
    release()
    await holding
    // Given up, the withdrawal did not happen later behind the caller's back.
    expect(await offers.withdraw(['lease-1'])).toEqual(['lease-1'])
  })

  it('returns results byte-exact, and errors, releases and renewals, to their owner only', async () => {
    const { url, pool, offers } = await freshDatabase()
    const events = await listen(url)
    await offers.publish([
      offer(1),
      offer(2),
      offer(3),
      offer(4),
      offer(5, { ownerId: 'coord-z', jobId: 'job-z' }),
    ])
    await offers.claim('relay-b', ['matmul'], 10)
    const a = new Float32Array([1.5, -2, Math.PI, Number.NaN, 1e-30, -0])
    const b = new Float32Array([7, 8, 9])
    const base = { ownerId: 'coord-a', relayId: 'relay-b', peerId: '12D3KooWPeer' }
    const hello = { capabilities: { kernels: ['matmul'] }, gflops: 12.5, wallet: '0xabc' }
    const returns: OfferReturn[] = [
      {
        ...base,
        offerId: 'lease-1',
        kind: 'result',
        hello,
        outputs: [
          { shape: [2, 3], dtype: 'float32', bytes: new Uint8Array(a.buffer) },
          { shape: [3], dtype: 'float32', bytes: new Uint8Array(b.buffer) },
        ],
      },
      { ...base, offerId: 'lease-2', kind: 'error', hello, code: 'kernel_failed', message: 'boom' },
      { ...base, offerId: 'lease-3', kind: 'release' },
      { ...base, offerId: 'lease-4', kind: 'renew' },
      { ...base, ownerId: 'coord-z', offerId: 'lease-5', kind: 'release' },
    ]
    await offers.sendReturns(returns)
    // One notification per owner, for offers and for returns alike.
    const sorted = () => events.map((event) => JSON.stringify(event)).sort()
    await expect.poll(() => events.length).toBe(4)
    expect(sorted()).toEqual(
      [
        { type: 'offers', by: 'coord-a', count: 4 },
        { type: 'offers', by: 'coord-z', count: 1 },
        { type: 'returns', to: 'coord-a' },
        { type: 'returns', to: 'coord-z' },
      ]
        .map((event) => JSON.stringify(event))
        .sort(),
    )

    const firstTwo = await offers.takeReturns('coord-a', 2)
    const rest = await offers.takeReturns('coord-a', 10)
    expect(await offers.takeReturns('coord-a', 10)).toEqual([])
    const taken = [...firstTwo, ...rest]
    expect(taken.map((r) => [r.offerId, r.kind])).toEqual([
      ['lease-1', 'result'],
      ['lease-2', 'error'],
      ['lease-3', 'release'],
      ['lease-4', 'renew'],
    ])
    const result = taken[0]
    if (result?.kind !== 'result') throw new Error('expected a result first')
    expect(result).toMatchObject({ ...base, hello })
    expect(result.outputs.map((t) => [t.shape, t.dtype])).toEqual([
      [[2, 3], 'float32'],
      [[3], 'float32'],
    ])
    expect(new Float32Array(result.outputs[0]?.bytes.buffer as ArrayBuffer)).toEqual(a)
    expect(Buffer.from(result.outputs[0]?.bytes ?? [])).toEqual(Buffer.from(a.buffer))
    expect(Buffer.from(result.outputs[1]?.bytes ?? [])).toEqual(Buffer.from(b.buffer))
    expect(taken[1]).toEqual(returns[1])
    expect(taken[2]).toEqual(returns[2])
    expect(taken[3]).toEqual(returns[3])

    // Result, error and release ended their offers; the renewal kept its own; the other
    // owner's offer is untouched until that owner takes its return.
    const left = async () =>
      (await pool.query('SELECT offer_id FROM task_offers ORDER BY offer_id')).rows.map(
        (row) => row.offer_id,
      )
    expect(await left()).toEqual(['lease-4', 'lease-5'])
    expect(await offers.takeReturns('coord-z', 10)).toEqual([returns[4]])
    expect(await left()).toEqual(['lease-4'])
  })

  it('refuses a stored result whose payload disagrees with its outputs', async () => {
    const { pool, offers } = await freshDatabase()
    await offers.sendReturns([
      {
        ownerId: 'coord-a',
        offerId: 'lease-1',
        relayId: 'relay-b',
        peerId: 'peer',
        kind: 'result',
        hello: null,
        outputs: [{ shape: [2], dtype: 'int32', bytes: new Uint8Array(8) }],
      },
    ])
    await pool.query(`UPDATE offer_returns SET payload = '\\x00010203'::bytea`)
    await expect(offers.takeReturns('coord-a', 10)).rejects.toThrow(CorruptOfferReturnError)
  })

  it('joins the caller’s transaction: rolled back, nothing is published or notified', async () => {
    const { url, pool, offers } = await freshDatabase()
    const events = await listen(url)
    await expect(
      withTransaction(pool, async (client) => {
        await offers.publish([offer(1)], { client })
        throw new Error('roll back')
      }),
    ).rejects.toThrow('roll back')
    await withTransaction(pool, (client) => offers.publish([offer(2)], { client }))
    await expect.poll(() => events).toEqual([{ type: 'offers', by: 'coord-a', count: 1 }])
    expect((await offers.claim('relay-b', ['matmul'], 10)).map((o) => o.offerId)).toEqual([
      'lease-2',
    ])
  })

  it('delivers verdicts to their relay, oldest first, once', async () => {
    const { url, offers } = await freshDatabase()
    const events = await listen(url)
    const verdict = (relayId: string, n: number, outcome: 'accepted' | 'rejected') => ({
      relayId,
      peerId: `peer-${n}`,
      taskId: `task-${n}`,
      outcome,
    })
    await offers.sendVerdicts([
      verdict('relay-b', 1, 'accepted'),
      verdict('relay-c', 2, 'rejected'),
      verdict('relay-b', 3, 'rejected'),
    ])
    await expect
      .poll(() => events)
      .toEqual(
        expect.arrayContaining([
          { type: 'verdicts', to: 'relay-b' },
          { type: 'verdicts', to: 'relay-c' },
        ]),
      )
    expect(events).toHaveLength(2)
    expect(await offers.takeVerdicts('relay-b', 1)).toEqual([verdict('relay-b', 1, 'accepted')])
    expect(await offers.takeVerdicts('relay-b', 10)).toEqual([verdict('relay-b', 3, 'rejected')])
    expect(await offers.takeVerdicts('relay-b', 10)).toEqual([])
    expect(await offers.takeVerdicts('relay-c', 10)).toEqual([verdict('relay-c', 2, 'rejected')])
  })

  it('purges offers expired past the grace, and returns and verdicts older than it', async () => {
    const { pool, offers } = await freshDatabase()
    await offers.publish([offer(1, { expiresInMs: 1 }), offer(2, { expiresInMs: 60_000 })])
    await offers.sendReturns([
      { ownerId: 'coord-a', offerId: 'lease-1', relayId: 'relay-b', peerId: 'p', kind: 'renew' },
    ])
    await offers.sendVerdicts([
      { relayId: 'relay-b', peerId: 'p', taskId: 't', outcome: 'accepted' },
    ])
    expect(await offers.purge()).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(await offers.purge({ graceMs: 10 })).toBe(3)
    const { rows } = await pool.query('SELECT offer_id FROM task_offers')
    expect(rows).toEqual([{ offer_id: 'lease-2' }])
  })

  it('refuses bad input, naming the field', async () => {
    const { offers } = await freshDatabase()
    await expect(offers.claim('relay-b', [], 10)).rejects.toThrow(/kinds must name 1 to/)
    await expect(offers.claim('relay-b', ['matmul'], 0)).rejects.toThrow(RangeError)
    await expect(offers.claim('relay-b', ['matmul'], 1001)).rejects.toThrow(/max must be/)
    await expect(offers.claim('relay-b', ['matmul'], 1.5)).rejects.toThrow(/max must be/)
    await expect(offers.claim('', ['matmul'], 1)).rejects.toThrow(/relayId/)
    await expect(offers.claim('relay b', ['matmul'], 1)).rejects.toThrow(/relayId/)
    await expect(offers.claim('relay-b', ['matmul'], 1, { minLeftMs: -1 })).rejects.toThrow(
      /minLeftMs/,
    )
    await expect(offers.publish(Array.from({ length: 1_001 }, (_, n) => offer(n)))).rejects.toThrow(
      /over 1000 per call/,
    )
    await expect(offers.publish([offer(1, { offerId: 'x'.repeat(201) })])).rejects.toThrow(
      /offers\[0\]\.offerId/,
    )
    await expect(offers.publish([offer(1, { grant: undefined })])).rejects.toThrow(
      /offers\[0\]\.grant is not JSON-safe/,
    )
    await expect(offers.publish([offer(1, { grant: { n: 1n } })])).rejects.toThrow(TypeError)
    await expect(offers.publish([offer(1, { grant: 'a\0b' })])).rejects.toThrow(/NUL/)
    await expect(offers.publish([offer(1, { expiresInMs: 0 })])).rejects.toThrow(
      /offers\[0\]\.expiresInMs/,
    )
    await expect(offers.withdraw(Array.from({ length: 1_001 }, (_, n) => `l${n}`))).rejects.toThrow(
      /offerIds holds 1001/,
    )
    await expect(
      offers.sendReturns([
        {
          ownerId: 'coord-a',
          offerId: 'l',
          relayId: 'r',
          peerId: 'p',
          kind: 'result',
          hello: {},
          outputs: [{ shape: [-1], dtype: 'float32', bytes: new Uint8Array() }],
        },
      ]),
    ).rejects.toThrow(/returns\[0\]\.outputs\[0\]\.shape/)
    await expect(
      offers.sendReturns([
        {
          ownerId: 'coord-a',
          offerId: 'l',
          relayId: 'r',
          peerId: 'p',
          kind: 'result',
          hello: {},
          // @ts-expect-error not a dtype
          outputs: [{ shape: [1], dtype: 'float64', bytes: new Uint8Array(8) }],
        },
      ]),
    ).rejects.toThrow(/returns\[0\]\.outputs\[0\]\.dtype/)
    await expect(
      offers.sendVerdicts([
        // @ts-expect-error not an outcome
        { relayId: 'r', peerId: 'p', taskId: 't', outcome: 'maybe' },
      ]),
    ).rejects.toThrow(/verdicts\[0\]\.outcome/)
    await expect(offers.takeReturns('coord-a', 0)).rejects.toThrow(/max must be/)
    await expect(offers.takeVerdicts('relay-b', 1001)).rejects.toThrow(/max must be/)
    await expect(offers.purge({ graceMs: -5 })).rejects.toThrow(/graceMs/)
    // A caller that gave up is not served.
    const gaveUp = AbortSignal.abort(new Error('caller gave up'))
    await expect(offers.claim('relay-b', ['matmul'], 1, { signal: gaveUp })).rejects.toThrow(
      'caller gave up',
    )
    expect(() => createTaskOffers(pools[0] as pg.Pool, { timeoutMs: 0 })).toThrow(/timeoutMs/)
  })
})
