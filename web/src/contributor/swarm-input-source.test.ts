import { MAX_HELD_BLOBS, sha256Hex } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import type { FetchBlobOptions, FetchedBlob } from '../blobs/blob-fetcher.ts'
import { openWeightCache, type WeightCacheEntry } from '../blobs/weight-cache.ts'
import { swarmInputSource } from './swarm-input-source.ts'

/** A swarm over an in-memory cache whose peers and relay serve `remote`, counting asks. */
function fakeSwarm(remote: Map<string, Uint8Array>) {
  const cache = new Map<string, Uint8Array>()
  const asked: string[] = []
  const swarm = {
    async fetchBlob(hash: string): Promise<FetchedBlob> {
      const held = cache.get(hash)
      if (held) return { hash, bytes: held, source: 'cache', peerId: 'me', elapsedMs: 0 }
      asked.push(hash)
      const bytes = remote.get(hash)
      if (bytes == null) throw new Error('not found')
      cache.set(hash, bytes)
      return { hash, bytes, source: 'peer', peerId: 'peer-1', elapsedMs: 1 }
    },
    heldBlobs: (limit: number) => [...cache.keys()].reverse().slice(0, limit),
    keepBlob: (hash: string, bytes: Uint8Array) => {
      cache.delete(hash)
      cache.set(hash, bytes)
      return true
    },
    holdsBlob: (hash: string) => cache.has(hash),
  }
  return { swarm, cache, asked }
}

/** Weight-cache storage in a map that outlives the cache over it (a reload). */
function mapStorage() {
  const blobs = new Map<string, Uint8Array>()
  const entries = new Map<string, WeightCacheEntry>()
  return {
    entries: async () => [...entries.values()],
    read: async (hash: string) => blobs.get(hash),
    write: async (entry: WeightCacheEntry, bytes: Uint8Array) => {
      blobs.set(entry.hash, bytes)
      entries.set(entry.hash, entry)
    },
    touch: async () => {},
    remove: async (hash: string) => {
      blobs.delete(hash)
      entries.delete(hash)
    },
  }
}

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
      keepBlob: () => true,
      holdsBlob: () => false,
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

  it('reads weights from the persistent cache on a returning visit, before peers and the relay', async () => {
    const weight = new Uint8Array(4096).fill(3)
    const activation = new Uint8Array(64).fill(9)
    const [wHash, xHash] = await Promise.all([sha256Hex(weight), sha256Hex(activation)])
    const remote = new Map([
      [wHash, weight],
      [xHash, activation],
    ])
    const w0 = {
      name: 'w0',
      dtype: 'float32' as const,
      shape: [1024],
      sha256: wHash,
      byteLength: 4096,
    }
    const x = { name: 'x', dtype: 'float32' as const, shape: [16], sha256: xHash, byteLength: 64 }
    const budget = { signal: new AbortController().signal, timeoutMs: 5_000 }
    const storage = mapStorage()

    const firstVisit = fakeSwarm(remote)
    const weights = await openWeightCache({ storage })
    const first = swarmInputSource(firstVisit.swarm, { weights })
    expect((await first.fetch(w0, budget)).from).toBe('peer')
    expect((await first.fetch(x, budget)).from).toBe('peer')
    await expect.poll(() => weights.stats().entries).toBe(1)
    expect(weights.stats()).toMatchObject({ hits: 0, misses: 1, bytesStored: 4096 })

    // A reload: memory is gone, the weight cache answers, the activation is fetched again.
    const returning = fakeSwarm(remote)
    const reopened = await openWeightCache({ storage })
    const second = swarmInputSource(returning.swarm, { weights: reopened })
    const got = await second.fetch(w0, budget)
    expect(got).toEqual({ bytes: weight, from: 'cache' })
    expect((await second.fetch(x, budget)).from).toBe('peer')
    expect(returning.asked).toEqual([xHash])
    expect(reopened.stats()).toMatchObject({ hits: 1, misses: 0, hitRate: 1 })
    // Served to peers from memory as well, and announced.
    expect(second.held?.()).toContain(wHash)
  })

  it('announces the activations it produced first, newest first', async () => {
    const { swarm } = fakeSwarm(new Map())
    const source = swarmInputSource(swarm)
    swarm.keepBlob('aa'.repeat(32), new Uint8Array(1))
    source.keep?.('bb'.repeat(32), new Uint8Array(2))
    source.keep?.('cc'.repeat(32), new Uint8Array(3))
    // A later read of an older blob makes it the most recently used, yet it comes after.
    swarm.keepBlob('aa'.repeat(32), new Uint8Array(1))
    expect(source.held?.()).toEqual(['cc'.repeat(32), 'bb'.repeat(32), 'aa'.repeat(32)])
  })
})
