import { multiaddr } from '@multiformats/multiaddr'
import type { RelayCandidate } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { createRelayRoster } from './relay-roster.ts'

const relay = (name: string, ports: number[]): RelayCandidate => ({
  peerId: name,
  multiaddrs: ports.map((port) => multiaddr(`/ip4/127.0.0.1/tcp/${port}/ws/p2p/${name}`)),
})
const A = relay('A', [1, 2])
const B = relay('B', [3])
const C = relay('C', [4])

describe('relay roster', () => {
  it('gives a relay its misses in a row, each at its next address, then moves on', () => {
    const roster = createRelayRoster([A, B], { missesBeforeFailover: 3 })
    expect(roster.address.toString()).toContain('/tcp/1/')
    expect(roster.missed()).toMatchObject({ from: A, to: A, failedOver: false })
    expect(roster.address.toString()).toContain('/tcp/2/')
    expect(roster.missed().failedOver).toBe(false)
    expect(roster.missed()).toMatchObject({ from: A, to: B, failedOver: true, rounds: 0 })
    expect(roster.current.peerId).toBe('B')
    // Round the list and back to A: one full turn without an answer.
    roster.missed()
    roster.missed()
    expect(roster.missed()).toMatchObject({ from: B, to: A, failedOver: true, rounds: 1 })
  })

  it('an answer starts the count again', () => {
    const roster = createRelayRoster([A, B], { missesBeforeFailover: 2 })
    roster.missed()
    roster.reached()
    expect(roster.missed().failedOver).toBe(false)
    expect(roster.current.peerId).toBe('A')
  })

  it('a relay alone is retried for ever, counting turns', () => {
    const roster = createRelayRoster([B], { missesBeforeFailover: 2 })
    roster.missed()
    expect(roster.missed()).toMatchObject({ to: B, failedOver: false, rounds: 1 })
    expect(roster.current.peerId).toBe('B')
  })

  it('uses the relay an address names, and keeps it across a fresh directory', () => {
    const roster = createRelayRoster([A, B, C])
    expect(roster.use(B.multiaddrs[0]!)).toBe(true)
    expect(roster.use(multiaddr('/ip4/10.0.0.9/tcp/9/ws'))).toBe(false)
    roster.update([C, B])
    expect(roster.current.peerId).toBe('B')
    expect(roster.candidates.map((c) => c.peerId)).toEqual(['C', 'B'])
    // B left the cluster: the directory's first relay is used.
    roster.update([A, C])
    expect(roster.current.peerId).toBe('A')
    roster.update([])
    expect(roster.candidates.map((c) => c.peerId)).toEqual(['A', 'C'])
  })

  it('refuses an empty list', () => {
    expect(() => createRelayRoster([])).toThrow(/at least one relay/)
  })
})
