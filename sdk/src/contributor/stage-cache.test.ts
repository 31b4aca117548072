import type { DecoderStage, StageKvCache } from '@tabswarm/worker-kernels'
import { describe, expect, it } from 'vitest'
import { createStageCache } from './stage-cache.ts'

/** A stage that only counts its caches and whether it was destroyed. */
function fakeStage(name: string) {
  const state = { name, destroyed: false, caches: 0 }
  const stage = {
    createCache(): StageKvCache {
      state.caches++
      return { length: 0, truncate() {} }
    },
    destroy() {
      state.destroyed = true
    },
  } as unknown as DecoderStage
  return { stage, state }
}

const key = (jobId: string, fromLayer = 0, toLayer = 2) => ({ jobId, fromLayer, toLayer })

describe('createStageCache', () => {
  it('destroys the least recently used stage past the count, with its caches', () => {
    const cache = createStageCache({ maxStages: 2 })
    const [a, b, c] = [fakeStage('a'), fakeStage('b'), fakeStage('c')]
    cache.addStage(key('a'), a.stage, 10)
    cache.addStage(key('b'), b.stage, 10)
    cache.kvCache(key('a'), 's1')
    expect(cache.stage(key('a'))).toBe(a.stage) // a is now the most recent
    cache.addStage(key('c'), c.stage, 10)
    expect(b.state.destroyed).toBe(true)
    expect(a.state.destroyed).toBe(false)
    expect(cache.stage(key('b'))).toBeUndefined()
    expect(cache.sequences).toBe(1)
    cache.clear()
    expect([a.state.destroyed, c.state.destroyed]).toEqual([true, true])
    expect(cache.sequences).toBe(0)
  })

  it('evicts by weight bytes but keeps the stage just bound', () => {
    const cache = createStageCache({ maxStageBytes: 100 })
    const [a, b] = [fakeStage('a'), fakeStage('b')]
    cache.addStage(key('a'), a.stage, 60)
    cache.addStage(key('b'), b.stage, 150)
    expect(a.state.destroyed).toBe(true)
    expect(cache.stage(key('b'))).toBe(b.stage)
  })

  it('keeps one cache per sequence and stage, least recently used out past the count', () => {
    const cache = createStageCache({ maxSequences: 2 })
    const a = fakeStage('a')
    cache.addStage(key('a'), a.stage, 1)
    const s1 = cache.kvCache(key('a'), 's1')
    expect(cache.kvCache(key('a'), 's1')).toBe(s1)
    cache.kvCache(key('a'), 's2')
    cache.kvCache(key('a'), 's1')
    cache.kvCache(key('a'), 's3') // s2 goes
    expect(a.state.caches).toBe(3)
    expect(cache.kvCache(key('a'), 's1')).toBe(s1)
    cache.kvCache(key('a'), 's2')
    expect(a.state.caches).toBe(4)
    cache.dropKvCache(key('a'), 's1')
    expect(cache.kvCache(key('a'), 's1')).not.toBe(s1)
    expect(() => cache.kvCache(key('other'), 's1')).toThrow(
      /no stage bound for layers 0…1 of job other/,
    )
  })
})
