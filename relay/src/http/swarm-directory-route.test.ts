import type { RelayEntry } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { SwarmSchema } from './api-schemas.ts'
import { cachedRelayPeers } from './relay-peers.ts'
import { createTestApi, TEST_RELAY_PEER_ID } from './testing/test-api.ts'

const OTHER: RelayEntry = {
  peerId: '12D3KooOther',
  multiaddrs: ['/ip4/10.0.0.2/tcp/8788/ws/p2p/12D3KooOther'],
  url: 'http://10.0.0.2:8787',
}

async function directory(app: ReturnType<typeof createTestApi>['app']) {
  const response = await app.request('/v1/swarm')
  expect(response.status).toBe(200)
  return SwarmSchema.parse(await response.json())
}

describe('GET /v1/swarm relays', () => {
  it('lists this relay alone without a peers source (one relay, no database)', async () => {
    const { app } = createTestApi()
    expect((await directory(app)).relays).toEqual([
      { peerId: TEST_RELAY_PEER_ID, multiaddrs: ['/ip4/127.0.0.1/tcp/1/ws'] },
    ])
  })

  it('lists this relay first, then the other live relays, never itself twice', async () => {
    const self = { peerId: TEST_RELAY_PEER_ID, multiaddrs: ['/ip4/10.0.0.1/tcp/1/ws'] }
    const { app } = createTestApi({ peers: async () => [self, OTHER] })
    const answer = await directory(app)
    expect(answer.multiaddrs).toEqual(['/ip4/127.0.0.1/tcp/1/ws'])
    expect(answer.relays).toEqual([
      { peerId: TEST_RELAY_PEER_ID, multiaddrs: ['/ip4/127.0.0.1/tcp/1/ws'] },
      OTHER,
    ])
  })

  it('still answers, with this relay alone, when the lookup fails', async () => {
    const { app } = createTestApi({
      peers: async () => {
        throw new Error('database unreachable')
      },
    })
    expect((await directory(app)).relays.map((r) => r.peerId)).toEqual([TEST_RELAY_PEER_ID])
  })
})

describe('cachedRelayPeers', () => {
  it('looks up once per ttl however many ask, and gives the lookup a deadline', async () => {
    let clock = 0
    const signals: AbortSignal[] = []
    const peers = cachedRelayPeers(
      async (signal) => {
        signals.push(signal)
        return [OTHER]
      },
      { ttlMs: 1_000, now: () => clock },
    )
    await Promise.all([peers(), peers(), peers()])
    clock = 999
    expect(await peers()).toEqual([OTHER])
    expect(signals).toHaveLength(1)
    clock = 1_000
    await peers()
    expect(signals).toHaveLength(2)
    expect(signals[0]!.aborted).toBe(false)
  })

  it('leaves the others out when the lookup outlives its budget', async () => {
    const peers = cachedRelayPeers(
      (signal) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason))
        }),
      { timeoutMs: 20 },
    )
    expect(await peers()).toEqual([])
  })
})
