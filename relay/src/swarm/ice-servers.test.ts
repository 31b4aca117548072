import { describe, expect, it } from 'vitest'
import { configFromEnv } from '../config.ts'
import { parseIceServers } from './ice-servers.ts'

describe('swarm settings from the environment', () => {
  it('reads ICE servers as a URL list or as JSON with TURN credentials', () => {
    expect(parseIceServers('stun:a.example:3478, stun:b.example')).toEqual([
      { urls: 'stun:a.example:3478' },
      { urls: 'stun:b.example' },
    ])
    const turn = [{ urls: ['turn:t.example:3478'], username: 'u', credential: 'p' }]
    expect(parseIceServers(JSON.stringify(turn))).toEqual(turn)
    expect(parseIceServers('')).toEqual([])
  })

  it('names what is wrong with bad ICE servers', () => {
    expect(() => parseIceServers('http://stun.example')).toThrow(
      /0\.urls: ICE server urls start with stun:/,
    )
    expect(() => parseIceServers('[{"urls":')).toThrow(/not valid JSON/)
  })

  it('takes listen and announce multiaddrs and the peer limit', () => {
    const config = configFromEnv({
      TABSWARM_LISTEN: '/ip4/0.0.0.0/tcp/9000/ws, /ip6/::/tcp/9000/ws',
      TABSWARM_ANNOUNCE: '/dns4/swarm.example/tcp/443/wss',
      TABSWARM_MAX_PEERS: '4096',
    })
    expect(config.listen).toEqual(['/ip4/0.0.0.0/tcp/9000/ws', '/ip6/::/tcp/9000/ws'])
    expect(config.announce).toEqual(['/dns4/swarm.example/tcp/443/wss'])
    expect(config.maxPeers).toBe(4096)
    expect(() => configFromEnv({ TABSWARM_LISTEN: '/ip4/nope/tcp/1' })).toThrow(
      /TABSWARM_LISTEN has an invalid multiaddr "\/ip4\/nope\/tcp\/1"/,
    )
    expect(() => configFromEnv({ TABSWARM_MAX_PEERS: '0' })).toThrow(/TABSWARM_MAX_PEERS/)
  })
})
