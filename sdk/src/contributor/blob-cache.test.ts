import { describe, expect, it } from 'vitest'
import { createBlobCache } from './blob-cache.ts'

describe('blob cache', () => {
  it('drops the least recently used blobs to stay within its capacity', () => {
    const cache = createBlobCache({ capacityBytes: 10 })
    cache.set('a', new Uint8Array(4))
    cache.set('b', new Uint8Array(4))
    cache.get('a')
    cache.set('c', new Uint8Array(4))
    expect(cache.hashes()).toEqual(['a', 'c'])
    expect(cache.bytesUsed).toBe(8)
  })

  it('refuses a blob larger than the whole cache and keeps what it had', () => {
    const cache = createBlobCache({ capacityBytes: 10 })
    cache.set('a', new Uint8Array(4))
    expect(cache.set('huge', new Uint8Array(11))).toBe(false)
    expect(cache.hashes()).toEqual(['a'])
  })

  it('counts a re-stored blob once', () => {
    const cache = createBlobCache({ capacityBytes: 10 })
    cache.set('a', new Uint8Array(4))
    cache.set('a', new Uint8Array(4))
    expect(cache.bytesUsed).toBe(4)
  })

  it('lists the most recently used first, at most as many as asked', () => {
    const cache = createBlobCache({ capacityBytes: 100 })
    for (const hash of ['a', 'b', 'c', 'd']) cache.set(hash, new Uint8Array(1))
    cache.get('b')
    expect(cache.recent(3)).toEqual(['b', 'd', 'c'])
    expect(cache.recent(10)).toEqual(['b', 'd', 'c', 'a'])
    expect(cache.recent(0)).toEqual([])
  })
})
