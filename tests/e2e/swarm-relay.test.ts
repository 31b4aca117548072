import { createHash } from 'node:crypto'
import type { Libp2p } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import {
  BLOB_PROTOCOL,
  BlobResponseSchema,
  decodeFrame,
  encodeFrame,
  encodeLengthPrefix,
  MAX_BLOB_HEADER_BYTES,
  MAX_MESSAGE_BYTES,
  requestBlob,
  sendWorkRequest,
  WORK_PROTOCOL,
  WorkResponseSchema,
} from '@tabswarm/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { createNodeSwarmClient } from '../support/node-swarm-client.ts'

const signal = () => AbortSignal.timeout(20_000)

const capabilities = {
  adapter: { vendor: 'test', architecture: 'cpu', device: '', description: 'swarm-relay test' },
  features: [],
  limits: {},
  kernels: ['matmul'],
  agent: 'tests/e2e/swarm-relay',
}

describe('the relay in a swarm', () => {
  let relay: InProcessRelay
  let client: Libp2p

  beforeAll(async () => {
    relay = await startInProcessRelay({
      iceServers: [{ urls: 'stun:stun.example.org:3478' }],
    })
    client = await createNodeSwarmClient()
  })

  afterAll(async () => {
    await client?.stop()
    await relay?.stop()
  })

  const relayAddr = () => multiaddr(relay.running.multiaddrs[0]!)

  /** Sends raw bytes on a fresh stream and returns the relay's first frame, decoded. */
  async function probe(protocol: string, bytes: Uint8Array) {
    const stream = await client.dialProtocol(relayAddr(), protocol, { signal: signal() })
    const lp = lpStream(stream, { maxDataLength: 1 << 20 })
    stream.send(bytes)
    try {
      return new TextDecoder().decode((await lp.read({ signal: signal() })).subarray())
    } catch (err) {
      return `closed: ${(err as Error).message}`
    } finally {
      stream.abort(new Error('probe done'))
    }
  }

  it('tells tabs its addresses and ICE servers', async () => {
    const swarm = (await (await fetch(`${relay.running.url}/v1/swarm`)).json()) as Record<
      string,
      unknown
    >
    expect(swarm.multiaddrs).toEqual(relay.running.multiaddrs)
    expect(swarm.iceServers).toEqual([{ urls: 'stun:stun.example.org:3478' }])
  })

  it('serves a multi-MB blob from its store over the blob protocol, verified', async () => {
    const bytes = new Uint8Array(5 * 1024 * 1024 + 3).map((_, i) => (i * 31) & 255)
    const hash = await relay.putBlob(bytes)
    const stream = await client.dialProtocol(relayAddr(), BLOB_PROTOCOL, { signal: signal() })
    const got = await requestBlob(stream, hash, { signal: signal() })
    expect(got.byteLength).toBe(bytes.byteLength)
    expect(createHash('sha256').update(got).digest('hex')).toBe(hash)

    const missing = await client.dialProtocol(relayAddr(), BLOB_PROTOCOL, { signal: signal() })
    await expect(requestBlob(missing, 'f'.repeat(64), { signal: signal() })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    })
  })

  it('closes only the stream of a malformed or oversized message and logs it', async () => {
    const hash = await relay.putBlob(new Uint8Array(300_000).fill(7))
    const violations = () => relay.log.lines.filter((l) => l.msg === 'protocol violation').length
    const before = violations()
    // A frame whose header is two bytes that are not JSON.
    const garbage = Uint8Array.from([6, 0, 0, 0, 2, 0x7b, 0x7b])

    const blobAnswers = [
      await probe(BLOB_PROTOCOL, garbage),
      await probe(BLOB_PROTOCOL, encodeFrameWithPrefix(encodeFrame({ type: 'get', hash: 'x' }))),
      await probe(
        BLOB_PROTOCOL,
        Uint8Array.from([...encodeLengthPrefix(MAX_BLOB_HEADER_BYTES + 1), 1, 2]),
      ),
    ].map((text) => decodeFrame(new TextEncoder().encode(text), BlobResponseSchema).header)
    expect(blobAnswers.map((a) => a.type === 'error' && a.code)).toEqual([
      'MALFORMED_FRAME',
      'INVALID_MESSAGE',
      'MESSAGE_TOO_LARGE',
    ])

    const workAnswers = [
      await probe(WORK_PROTOCOL, garbage),
      await probe(
        WORK_PROTOCOL,
        Uint8Array.from([...encodeLengthPrefix(MAX_MESSAGE_BYTES + 1), 1, 2]),
      ),
    ].map((text) => decodeFrame(new TextEncoder().encode(text), WorkResponseSchema).header)
    expect(workAnswers.map((a) => a.type === 'error' && a.code)).toEqual([
      'MALFORMED_FRAME',
      'MESSAGE_TOO_LARGE',
    ])
    expect(violations() - before).toBe(5)

    // The same connection keeps working for both protocols.
    expect(client.getConnections().filter((c) => c.status === 'open')).toHaveLength(1)
    const stream = await client.dialProtocol(relayAddr(), BLOB_PROTOCOL, { signal: signal() })
    expect((await requestBlob(stream, hash, { signal: signal() })).byteLength).toBe(300_000)
    const work = await client.dialProtocol(relayAddr(), WORK_PROTOCOL, { signal: signal() })
    const hello = await sendWorkRequest(work, { type: 'hello', capabilities }, undefined, {
      signal: signal(),
    })
    expect(hello.header.type).toBe('hello-ack')
  })

  it('holds at most two work streams per connection', async () => {
    const held = await Promise.all(
      [0, 1].map(() => client.dialProtocol(relayAddr(), WORK_PROTOCOL, { signal: signal() })),
    )
    // The stream the relay has no room for is reset, never answered.
    const refused = await client
      .dialProtocol(relayAddr(), WORK_PROTOCOL, { signal: signal() })
      .then((stream) =>
        sendWorkRequest(stream, { type: 'hello', capabilities }, undefined, { signal: signal() }),
      )
      .then(
        () => 'answered',
        (err: Error) => err.message,
      )
    expect(refused).not.toBe('answered')
    for (const stream of held) stream.abort(new Error('done'))
    // The slots come back once the relay has seen the resets: a new stream is answered then,
    // however long that takes on a loaded machine.
    await expect
      .poll(
        async () => {
          try {
            const work = await client.dialProtocol(relayAddr(), WORK_PROTOCOL, {
              signal: signal(),
            })
            const hello = await sendWorkRequest(work, { type: 'hello', capabilities }, undefined, {
              signal: signal(),
            })
            return hello.header.type
          } catch (err) {
            return (err as Error).message
          }
        },
        { timeout: 15_000, interval: 100 },
      )
      .toBe('hello-ack')
  })

  it('keeps its peer id and multiaddr across a restart on the same data dir', async () => {
    const before = relay.running.multiaddrs
    await client.hangUp(relayAddr())
    await relay.restart()
    expect(relay.running.multiaddrs).toEqual(before)
    const connection = await client.dial(relayAddr(), { signal: signal() })
    expect(connection.remotePeer.toString()).toBe(before[0]!.split('/p2p/')[1])
  })
})

function encodeFrameWithPrefix(frame: Uint8Array): Uint8Array {
  return Uint8Array.from([...encodeLengthPrefix(frame.byteLength), ...frame])
}
