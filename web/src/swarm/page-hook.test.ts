import { describe, expect, it } from 'vitest'
import type { WeightCacheStats } from '../blobs/weight-cache.ts'
import { createPageHook } from './page-hook.ts'

const stats: WeightCacheStats = {
  hits: 3,
  misses: 1,
  corrupt: 0,
  bytesHit: 300,
  bytesMissed: 100,
  bytesStored: 100,
  evictions: 0,
  entries: 4,
  bytesUsed: 400,
  capacityBytes: 1000,
  hitRate: 0.75,
}

describe('createPageHook: the weight cache', () => {
  it('reports the weight cache’s figures once it is open, before the tab joins', () => {
    let open: WeightCacheStats | undefined
    const hook = createPageHook(() => undefined, { weightCache: () => open })
    expect(() => hook.weightCache()).toThrow(/weight cache is not open yet/)
    open = stats
    expect(hook.weightCache()).toEqual(stats)
    expect(hook.joined).toBe(false)
  })
})
