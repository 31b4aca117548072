import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createRelayStatus } from './relay-status.ts'

describe("the widget's relay status line", () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('names the relay it moves to, through the wait before the dial, and once there', () => {
    const lines: string[] = []
    const status = createRelayStatus((line) => lines.push(line))
    const last = () => lines.at(-1)
    const a = '12D3KooWEnySHnn2nfCuVSbFcYocCTJgeBcUgzXqoYPLrtETdP7z'
    const b = '12D3KooWSU3A8bCiynxcJMBqDros9hTonviJJtCKmKYihd74Kr9w'
    status.update({ type: 'relay-connected', relay: `/ip4/127.0.0.1/tcp/1/ws/p2p/${a}` })
    expect(last()).toBe('Running: connected')
    status.update({ type: 'relay-lost', relay: a })
    expect(lines).toHaveLength(1)
    status.update({ type: 'relay-retry', error: '', retryInMs: 1_000 })
    expect(last()).toBe('Lost the relay; retrying in 1 s')
    status.update({ type: 'relay-failover', from: a, to: b, toAddress: 'swarm-b.example' })
    expect(last()).toBe('Lost the relay; moving to relay swarm-b.example')
    status.update({ type: 'relay-retry', error: '', retryInMs: 1_000 })
    expect(last()).toBe('Lost the relay; moving to relay swarm-b.example in 1 s')
    status.update({ type: 'relay-connected', relay: `/ip4/127.0.0.2/tcp/2/ws/p2p/${b}` })
    expect(last()).toBe('Running: moved to relay swarm-b.example')
    // The next loss of that relay is an ordinary reconnection again.
    status.update({ type: 'relay-lost', relay: b })
    status.update({ type: 'relay-retry', error: '', retryInMs: 2_000 })
    expect(last()).toBe('Lost the relay; retrying in 2 s')
  })

  it('counts a wait down a second at a time, and writes nothing once stopped', () => {
    const lines: string[] = []
    const status = createRelayStatus((line) => lines.push(line))
    status.update({ type: 'relay-retry', error: '', retryInMs: 3_000 })
    vi.advanceTimersByTime(3_000)
    expect(lines).toEqual([
      'Lost the relay; retrying in 3 s',
      'Lost the relay; retrying in 2 s',
      'Lost the relay; retrying in 1 s',
      'Lost the relay; retrying: connecting',
    ])
    status.update({ type: 'relay-retry', error: '', retryInMs: 20_000 })
    status.stop()
    vi.advanceTimersByTime(30_000)
    expect(lines.at(-1)).toBe('Lost the relay; retrying in 20 s')
    expect(vi.getTimerCount()).toBe(0)
  })
})
