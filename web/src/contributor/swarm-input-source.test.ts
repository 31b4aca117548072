import { MAX_HELD_BLOBS } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import type { FetchBlobOptions, FetchedBlob } from '../blobs/blob-fetcher.ts'
import { swarmInputSource } from './swarm-input-source.ts'

const ref = {
  name: 'a',
  dtype: 'float32' as const,
  shape: [2],
  sha256: 'ab'.repeat(32),
  byteLength: 8,
  providers: ['peer-1', 'peer-2'],
}

describe('swarmInputSource', () => {
  it('asks the lease’s providers, then the relay, for exactly the bytes named, within the budget', async () => {
    const asked: Array<{ hash: string; options: FetchBlobOptions | undefined }> = []
    const signal = new AbortController().signal
    const source = swarmInputSource({
      async fetchBlob(hash, options) {
        asked.push({ hash, options })
        const blob: FetchedBlob = {
          hash,
          bytes: new Uint8Array(8),
          source: 'relay',
          peerId: 'relay',
          elapsedMs: 1,
          fallback: { unreachable: ['peer-1'], notHeld: [], failed: ['peer-2'] },
        }
        return blob
      },
      heldBlobs: (limit) => [`limit ${limit}`],
    })
    const got = await source.fetch(ref, { signal, timeoutMs: 7_000 })
    expect(got).toEqual({ bytes: new Uint8Array(8), from: 'relay', fallbacks: 2 })
    expect(asked).toEqual([
      {
        hash: ref.sha256,
        options: {
          providers: ['peer-1', 'peer-2'],
          askConnectedPeers: false,
          maxBytes: 8,
          timeoutMs: 7_000,
          signal,
        },
      },
    ])
    expect(source.held?.()).toEqual([`limit ${MAX_HELD_BLOBS}`])
  })
})
