import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { memoryBlobSource, serveBlobRequest, sha256Hex } from '@tabswarm/protocol'
import { createBlobCache } from '@tabswarm/sdk/contributor'
import { describe, expect, it } from 'vitest'
import { isDirect } from '../swarm/direct-peers.ts'
import { createSwarmStats } from '../swarm/swarm-stats.ts'
import { createBlobFetcher } from './blob-fetcher.ts'

const newPeer = async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

/** A direct WebRTC connection to `peer` whose streams either serve `blob` or fail to open. */
function fakeConnection(peer: PeerId, open: Connection[], serves?: Uint8Array) {
  const aborted: Error[] = []
  const connection = {
    status: 'open',
    limits: undefined,
    remotePeer: peer,
    remoteAddr: multiaddr(`/webrtc/p2p/${peer}`),
    async newStream() {
      if (serves == null) throw new Error('close event')
      const [client, server] = await streamPair()
      void serveBlobRequest(server, memoryBlobSource({ get: () => serves }), {
        signal: AbortSignal.timeout(10_000),
      })
      return client
    },
    abort(err: Error) {
      aborted.push(err)
      open.splice(open.indexOf(connection as unknown as Connection), 1)
    },
  } as unknown as Connection
  open.push(connection)
  return { connection, aborted }
}

async function setUp() {
  const [self, holder] = [await newPeer(), await newPeer()]
  const open: Connection[] = []
  const node = {
    peerId: self,
    getConnections: (peer?: PeerId) =>
      open.filter((c) => peer == null || c.remotePeer.equals(peer)),
  } as unknown as Libp2p
  const stats = createSwarmStats(self.toString())
  const fetchBlob = createBlobFetcher({
    node,
    cache: createBlobCache(),
    stats,
    relayPeer: () => undefined,
    connectDirect: async (peer) => {
      const connection = node.getConnections(peer).find(isDirect)
      if (connection == null) throw new Error('no route')
      return connection
    },
  })
  return { holder, open, stats, fetchBlob }
}

describe('blob fetch over direct connections', () => {
  it('closes a connection that fails a request and asks the peer over its other one', async () => {
    const { holder, open, stats, fetchBlob } = await setUp()
    const blob = new Uint8Array(100_000).map((_, i) => i % 253)
    const broken = fakeConnection(holder, open)
    fakeConnection(holder, open, blob)
    const got = await fetchBlob(await sha256Hex(blob), {
      providers: [holder.toString()],
      relay: false,
    })
    expect(got).toMatchObject({ source: 'peer', peerId: holder.toString() })
    expect(got.bytes).toEqual(blob)
    expect(broken.aborted).toHaveLength(1)
    expect(stats.peers.brokenLinksClosed).toBe(1)
  })

  it('redials a peer once when its only connection closed under the request', async () => {
    const [self, holder] = [await newPeer(), await newPeer()]
    const blob = new Uint8Array(50_000).map((_, i) => i % 251)
    const open: Connection[] = []
    const stats = createSwarmStats(self.toString())
    // The first connection fails the request and is closed by then; a dial opens a good one.
    const closing = fakeConnection(holder, open)
    const dials: string[] = []
    const fetchBlob = createBlobFetcher({
      node: {
        peerId: self,
        getConnections: (peer?: PeerId) =>
          open.filter((c) => peer == null || c.remotePeer.equals(peer)),
      } as unknown as Libp2p,
      cache: createBlobCache(),
      stats,
      relayPeer: () => undefined,
      connectDirect: async (peer) => {
        const existing = open.find((c) => c.remotePeer.equals(peer) && isDirect(c))
        if (existing) {
          if (existing === closing.connection) {
            ;(existing as { status: string }).status = 'closed'
            open.splice(open.indexOf(existing), 1)
          }
          return existing
        }
        dials.push(peer.toString())
        return fakeConnection(holder, open, blob).connection
      },
    })
    const got = await fetchBlob(await sha256Hex(blob), {
      providers: [holder.toString()],
      relay: false,
    })
    expect(got.bytes).toEqual(blob)
    expect(dials).toEqual([holder.toString()])
    expect(stats.peers.redialsAfterClose).toBe(1)
  })

  it('redials a closed connection once only: a peer that keeps failing costs two attempts', async () => {
    const [self, holder] = [await newPeer(), await newPeer()]
    const open: Connection[] = []
    const stats = createSwarmStats(self.toString())
    let attempts = 0
    const fetchBlob = createBlobFetcher({
      node: {
        peerId: self,
        getConnections: () => [],
      } as unknown as Libp2p,
      cache: createBlobCache(),
      stats,
      relayPeer: () => undefined,
      connectDirect: async (peer) => {
        attempts++
        const { connection } = fakeConnection(peer, open)
        ;(connection as { status: string }).status = 'closed'
        return connection
      },
    })
    await expect(
      fetchBlob('cd'.repeat(32), { providers: [holder.toString()], relay: false }),
    ).rejects.toThrow(/close event/)
    expect(attempts).toBe(2)
    expect(stats.peers.redialsAfterClose).toBe(1)
  })

  it('gives a peer with one failing connection a single attempt, and keeps the connection', async () => {
    const { holder, open, stats, fetchBlob } = await setUp()
    const only = fakeConnection(holder, open)
    await expect(
      fetchBlob('ab'.repeat(32), { providers: [holder.toString()], relay: false }),
    ).rejects.toThrow(`${holder}: close event`)
    expect(only.aborted).toHaveLength(0)
    expect(stats.peers.brokenLinksClosed).toBe(0)
  })
})

/**
 * A provider that misbehaves one way, and a relay that serves `blob`: what a task's input
 * fetch meets when the coordinator names a peer that is gone, stalled or lying.
 */
async function withRelay(provider: 'dead' | 'slow' | 'lying', blob: Uint8Array) {
  const [self, holder, relay] = [await newPeer(), await newPeer(), await newPeer()]
  const open: Connection[] = []
  const node = {
    peerId: self,
    getConnections: (peer?: PeerId) =>
      open.filter((c) => peer == null || c.remotePeer.equals(peer)),
  } as unknown as Libp2p
  const servingStream = async (serves: Uint8Array) => {
    const [client, server] = await streamPair()
    void serveBlobRequest(server, memoryBlobSource({ get: () => serves }), {
      signal: AbortSignal.timeout(10_000),
    }).catch(() => {})
    return client
  }
  open.push({
    status: 'open',
    limits: undefined,
    remotePeer: relay,
    remoteAddr: multiaddr(`/ip4/127.0.0.1/tcp/1/ws/p2p/${relay}`),
    newStream: () => servingStream(blob),
  } as unknown as Connection)
  const peerConnection = {
    status: 'open',
    limits: undefined,
    remotePeer: holder,
    remoteAddr: multiaddr(`/webrtc/p2p/${holder}`),
    async newStream() {
      if (provider === 'lying') return servingStream(blob.map((b) => b ^ 1))
      // Slow: the stream opens, and nothing ever comes back on it.
      const [client] = await streamPair()
      return client
    },
    abort() {},
  } as unknown as Connection
  const stats = createSwarmStats(self.toString())
  const fetchBlob = createBlobFetcher({
    node,
    cache: createBlobCache(),
    stats,
    relayPeer: () => relay,
    peerIdleTimeoutMs: 300,
    connectDirect: (_peer, signal) =>
      provider === 'dead'
        ? // A peer that is gone: the dial hangs until its budget runs out.
          new Promise((_, reject) =>
            signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
          )
        : Promise.resolve(peerConnection),
  })
  return { holder, relay, stats, fetchBlob }
}

describe('blob fetch: a provider that fails costs a fallback to the relay, never a wrong blob', () => {
  const blob = new Uint8Array(50_000).map((_, i) => (i * 7) % 251)

  it.each([
    ['dead', 'unreachable'],
    ['slow', 'failed'],
    ['lying', 'failed'],
  ] as const)('a %s provider', async (provider, why) => {
    const { holder, relay, stats, fetchBlob } = await withRelay(provider, blob)
    const started = performance.now()
    const got = await fetchBlob(await sha256Hex(blob), {
      providers: [holder.toString()],
      askConnectedPeers: false,
      timeoutMs: 4_000,
      // Half the budget, by default; named here so a dead peer's dial ends within the test.
      peersTimeoutMs: 1_000,
      maxBytes: blob.byteLength,
    })
    expect(got).toMatchObject({ source: 'relay', peerId: relay.toString() })
    expect(got.bytes).toEqual(blob)
    expect(got.fallback?.[why]).toEqual([holder.toString()])
    expect(performance.now() - started).toBeLessThan(3_000)
    expect(stats.blobs.relayFallbacks).toBe(1)
    expect(stats.blobs.hashMismatches).toBe(provider === 'lying' ? 1 : 0)
  })
})
