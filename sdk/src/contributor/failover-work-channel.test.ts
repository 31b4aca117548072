import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { RelayCandidate, WorkRequest } from '@tabswarm/protocol'
import { describe, expect, it, vi } from 'vitest'
import { failoverWorkChannel } from './failover-work-channel.ts'
import { createRelayRoster } from './relay-roster.ts'

vi.mock('@tabswarm/protocol', async (importOriginal) => ({
  ...(await importOriginal<typeof import('@tabswarm/protocol')>()),
  // The stream is the relay's name: the fake relay answers by echoing where it was sent.
  sendWorkRequest: async (stream: string) => ({
    header: { type: 'no-work', retryAfterMs: 1, at: stream },
  }),
}))

const relay = (name: string, port: number): RelayCandidate => ({
  peerId: name,
  multiaddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${port}/ws/p2p/${name}`)],
})

/** A node whose dials reach only the relays in `up`. */
function fakeNode(up: Set<string>) {
  const dialled: string[] = []
  const node = {
    peerId: { toString: () => 'worker' },
    getConnections: () => [],
    async dialProtocol(addr: { toString(): string }) {
      const name = addr.toString().split('/p2p/')[1] as string
      dialled.push(name)
      if (!up.has(name)) throw new Error(`connection refused by ${name}`)
      return name
    },
  } as unknown as Libp2p
  return { node, dialled }
}

const lease: WorkRequest = { type: 'lease-request' }
const live = () => AbortSignal.timeout(10_000)

describe('failoverWorkChannel', () => {
  it('moves to the next relay after the misses in a row, and works there', async () => {
    const up = new Set(['A', 'B'])
    const { node, dialled } = fakeNode(up)
    const roster = createRelayRoster([relay('A', 1), relay('B', 2)], { missesBeforeFailover: 2 })
    const misses: boolean[] = []
    const channel = failoverWorkChannel(node, roster, { onMiss: (m) => misses.push(m.failedOver) })
    expect((await channel.exchange(lease, undefined, live())).header).toMatchObject({ at: 'A' })

    up.delete('A')
    await expect(channel.exchange(lease, undefined, live())).rejects.toThrow(/refused by A/)
    expect(channel.relay).toContain('/p2p/A')
    await expect(channel.exchange(lease, undefined, live())).rejects.toThrow(/refused by A/)
    expect(channel.relay).toContain('/p2p/B')
    expect((await channel.exchange(lease, undefined, live())).header).toMatchObject({ at: 'B' })
    expect(misses).toEqual([false, true])
    expect(dialled).toEqual(['A', 'A', 'A', 'B'])
  })

  it('a stop is not the relay’s miss; a timeout is', async () => {
    const { node } = fakeNode(new Set())
    const roster = createRelayRoster([relay('A', 1), relay('B', 2)], { missesBeforeFailover: 1 })
    const channel = failoverWorkChannel(node, roster)
    const stop = new AbortController()
    stop.abort(new Error('stopped'))
    await expect(channel.exchange(lease, undefined, stop.signal)).rejects.toThrow()
    expect(roster.current.peerId).toBe('A')
    const timedOut = AbortSignal.timeout(0)
    await new Promise((resolve) => setTimeout(resolve, 5))
    await expect(channel.exchange(lease, undefined, timedOut)).rejects.toThrow()
    expect(roster.current.peerId).toBe('B')
  })
})
