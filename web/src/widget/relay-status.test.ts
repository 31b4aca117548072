import { describe, expect, it } from 'vitest'
import { createRelayStatus } from './relay-status.ts'

describe("the widget's relay status line", () => {
  it('names the relay it moves to, through the wait before the dial, and once there', () => {
    const line = createRelayStatus()
    const a = '12D3KooWEnySHnn2nfCuVSbFcYocCTJgeBcUgzXqoYPLrtETdP7z'
    const b = '12D3KooWSU3A8bCiynxcJMBqDros9hTonviJJtCKmKYihd74Kr9w'
    expect(line({ type: 'relay-connected', relay: `/ip4/127.0.0.1/tcp/1/ws/p2p/${a}` })).toBe(
      'Running: connected',
    )
    expect(line({ type: 'relay-lost', relay: a })).toBeUndefined()
    expect(line({ type: 'relay-retry', error: '', retryInMs: 1_000 })).toBe(
      'Lost the relay; retrying in 1 s',
    )
    expect(line({ type: 'relay-failover', from: a, to: b, toAddress: 'swarm-b.example' })).toBe(
      'Lost the relay; moving to relay swarm-b.example',
    )
    expect(line({ type: 'relay-retry', error: '', retryInMs: 1_000 })).toBe(
      'Lost the relay; moving to relay swarm-b.example in 1 s',
    )
    expect(line({ type: 'relay-connected', relay: `/ip4/127.0.0.2/tcp/2/ws/p2p/${b}` })).toBe(
      'Running: moved to relay swarm-b.example',
    )
    // The next loss of that relay is an ordinary reconnection again.
    line({ type: 'relay-lost', relay: b })
    expect(line({ type: 'relay-retry', error: '', retryInMs: 2_000 })).toBe(
      'Lost the relay; retrying in 2 s',
    )
  })
})
