import type { Libp2p } from '@libp2p/interface'
import { streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { BLOB_PROTOCOL, memoryBlobSource, serveBlobRequest } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { relayInputSource } from './relay-input-source.ts'
import { f32, refsOf } from './testing/fake-work.ts'

const relay = multiaddr(
  '/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA',
)

/** A node whose blob streams to the relay are answered from `blobs` (hash -> bytes). */
function nodeServing(blobs: Map<string, Uint8Array>) {
  const dials: Array<{ protocol: string }> = []
  const node = {
    async dialProtocol(_addr: unknown, protocol: string) {
      dials.push({ protocol })
      const [client, server] = await streamPair()
      void serveBlobRequest(server, memoryBlobSource(blobs), {
        signal: AbortSignal.timeout(5_000),
      }).catch(() => {})
      return client
    },
  } as unknown as Libp2p
  return { node, dials }
}

const budget = () => ({ signal: AbortSignal.timeout(5_000), timeoutMs: 5_000 })

describe('relayInputSource', () => {
  it('fetches an input by its sha-256 over the blob protocol', async () => {
    const x = { name: 'x', dtype: 'float32' as const, shape: [3], bytes: f32(1, 2, 3) }
    const [ref] = await refsOf([x])
    const { node, dials } = nodeServing(new Map([[ref!.sha256, x.bytes]]))
    const got = await relayInputSource(node, relay).fetch(ref!, budget())
    expect(got).toEqual({ bytes: x.bytes, from: 'relay' })
    expect(dials).toEqual([{ protocol: BLOB_PROTOCOL }])
    expect(relayInputSource(node, relay).held).toBeUndefined()
  })

  it('refuses bytes that do not hash to what it asked for', async () => {
    const x = { name: 'x', dtype: 'float32' as const, shape: [1], bytes: f32(1) }
    const [ref] = await refsOf([x])
    const { node } = nodeServing(new Map([[ref!.sha256, f32(2)]]))
    await expect(relayInputSource(node, relay).fetch(ref!, budget())).rejects.toMatchObject({
      code: 'HASH_MISMATCH',
    })
  })

  it('refuses a blob larger than the input the lease names', async () => {
    const x = { name: 'x', dtype: 'float32' as const, shape: [1], bytes: f32(1) }
    const [ref] = await refsOf([x])
    const { node } = nodeServing(new Map([[ref!.sha256, f32(1, 2)]]))
    await expect(relayInputSource(node, relay).fetch(ref!, budget())).rejects.toMatchObject({
      code: 'TOO_LARGE',
    })
  })
})
