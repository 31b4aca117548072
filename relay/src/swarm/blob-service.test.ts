import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { webSockets } from '@libp2p/websockets'
import { BLOB_PROTOCOL, bytesReader, requestBlob, sha256Hex } from '@tabswarm/protocol'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMemoryBlobStore } from '../blobs/blob-store.ts'
import { createJobParts } from '../coordinator/jobs/job-parts.ts'
import { silentLogger } from '../log.ts'
import { startBlobService } from './blob-service.ts'
import { createRelayNode, type RelayNode } from './relay-node.ts'

const signal = () => AbortSignal.timeout(10_000)

describe('the relay blob service', () => {
  let relay: RelayNode
  let client: Libp2p
  const blob = new Uint8Array(300_000).fill(3)
  let hash: string
  let unblock!: () => void
  const opened = new Promise<void>((resolve) => {
    unblock = resolve
  })

  beforeAll(async () => {
    hash = await sha256Hex(blob)
    relay = await createRelayNode({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0/ws'],
    })
    await startBlobService({
      node: relay,
      // The first open waits for the test: a serve that holds its slot.
      blobs: {
        async open() {
          await opened
          return bytesReader(blob)
        },
      },
      log: silentLogger,
      maxConcurrentServes: 1,
      busyWaitMs: 200,
    })
    client = await createLibp2p({
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
    })
    await client.dial(relay.getMultiaddrs()[0]!)
  })

  afterAll(async () => {
    await client?.stop()
    await relay?.stop()
  })

  it('serves a bounded number of blobs at once and refuses the rest as busy', async () => {
    const fetch = async () => {
      const stream = await client.dialProtocol(relay.getMultiaddrs()[0]!, BLOB_PROTOCOL, {
        signal: signal(),
      })
      return requestBlob(stream, hash, { signal: signal() })
    }
    const first = fetch()
    const served = first.then(
      (bytes) => bytes.byteLength,
      (err: Error) => err.message,
    )
    await new Promise((resolve) => setTimeout(resolve, 100))
    await expect(fetch()).rejects.toMatchObject({
      code: 'REMOTE_ERROR',
      message: expect.stringContaining('BUSY'),
    })
    unblock()
    expect(await served).toBe(blob.byteLength)
    // The slot is back.
    expect((await fetch()).byteLength).toBe(blob.byteLength)
  })
})

describe('the relay blob service and job parts', () => {
  let relay: RelayNode
  let client: Libp2p
  const part = Uint8Array.from({ length: 70_000 }, (_, i) => i % 251)
  const stored = new Uint8Array(1_000).fill(7)
  let partHash: string
  let storedHash: string
  const sent: Array<[string, number]> = []

  beforeAll(async () => {
    partHash = await sha256Hex(part)
    storedHash = await sha256Hex(stored)
    relay = await createRelayNode({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0/ws'],
    })
    const store = createMemoryBlobStore()
    store.put(stored)
    const parts = createJobParts()
    expect(parts.add('job', part)).toBe(partHash)
    await startBlobService({
      node: relay,
      blobs: store,
      parts,
      onBytesSent: (source, bytes) => sent.push([source, bytes]),
      log: silentLogger,
    })
    client = await createLibp2p({
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
    })
    await client.dial(relay.getMultiaddrs()[0]!)
  })

  afterAll(async () => {
    await client?.stop()
    await relay?.stop()
  })

  const fetch = async (hash: string) => {
    const stream = await client.dialProtocol(relay.getMultiaddrs()[0]!, BLOB_PROTOCOL, {
      signal: signal(),
    })
    return requestBlob(stream, hash, { signal: signal() })
  }

  it('serves a part of a live job and a stored blob by hash, counting the bytes of each', async () => {
    expect(await fetch(partHash)).toEqual(part)
    expect(await fetch(storedHash)).toEqual(stored)
    const total = (source: string) =>
      sent.filter(([s]) => s === source).reduce((sum, [, bytes]) => sum + bytes, 0)
    expect(total('job-part')).toBe(part.byteLength)
    expect(total('blob')).toBe(stored.byteLength)
  })

  it('refuses a hash it holds neither as a part nor as a blob', async () => {
    await expect(fetch('0'.repeat(64))).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})
