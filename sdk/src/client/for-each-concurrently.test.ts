import { describe, expect, it } from 'vitest'
import { forEachConcurrently } from './for-each-concurrently.ts'

describe('forEachConcurrently', () => {
  it('runs at most `limit` at once and visits every item', async () => {
    let running = 0
    let peak = 0
    const seen: number[] = []
    await forEachConcurrently([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      peak = Math.max(peak, ++running)
      await new Promise((resolve) => setTimeout(resolve, 5))
      seen.push(item)
      running--
    })
    expect(peak).toBe(3)
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7])
  })

  it('one failure aborts the calls in flight, starts no more, and is what is thrown', async () => {
    const started: number[] = []
    const aborted: number[] = []
    const run = forEachConcurrently(
      Array.from({ length: 20 }, (_, i) => i),
      4,
      async (item, _index, signal) => {
        started.push(item)
        if (item === 2) throw new Error('upload 2 failed')
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, 1_000)
          signal.addEventListener('abort', () => {
            clearTimeout(timer)
            aborted.push(item)
            reject(signal.reason)
          })
        })
      },
    )
    await expect(run).rejects.toThrow('upload 2 failed')
    expect(started).toEqual([0, 1, 2, 3])
    expect(aborted.sort()).toEqual([0, 1, 3])
  })
})
