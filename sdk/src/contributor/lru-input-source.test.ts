import { describe, expect, it } from 'vitest'
import type { InputSource } from './input-source.ts'
import { lruInputSource } from './lru-input-source.ts'
import { f32, fakeInputs, refsOf } from './testing/fake-work.ts'

const budget = () => ({ signal: AbortSignal.timeout(5_000), timeoutMs: 5_000 })
const input = (name: string, ...values: number[]) => ({
  name,
  dtype: 'float32' as const,
  shape: [values.length],
  bytes: f32(...values),
})

describe('lruInputSource', () => {
  it('serves a repeated input from its cache, fetching it once', async () => {
    const b = input('b', 1, 2, 3)
    const inner = fakeInputs([b], { held: ['held-by-inner'] })
    const source = lruInputSource(inner.source, { capacityBytes: 1024 })
    const [ref] = await refsOf([b])
    expect(await source.fetch(ref!, budget())).toMatchObject({ from: 'relay' })
    expect(await source.fetch(ref!, budget())).toEqual({ bytes: b.bytes, from: 'cache' })
    expect(inner.fetches).toHaveLength(1)
    // Keeping bytes is not serving them: what it announces is its inner source's.
    expect(source.held?.()).toEqual(['held-by-inner'])
  })

  it('keeps no wrong bytes: a lying inner source is refused every time', async () => {
    const b = input('b', 1, 2)
    const [ref] = await refsOf([b])
    let calls = 0
    const liar: InputSource = {
      fetch: async () => {
        calls++
        return { bytes: f32(9, 9), from: 'relay' }
      },
      held: () => [],
    }
    const source = lruInputSource(liar, { capacityBytes: 1024 })
    await expect(source.fetch(ref!, budget())).rejects.toMatchObject({ code: 'INPUT_MISMATCH' })
    await expect(source.fetch(ref!, budget())).rejects.toMatchObject({ code: 'INPUT_MISMATCH' })
    expect(calls).toBe(2)
  })

  it('drops the least recently used inputs to stay within its capacity', async () => {
    const [a, b, c] = [input('a', 1), input('b', 2), input('c', 3)]
    const inner = fakeInputs([a, b, c])
    const source = lruInputSource(inner.source, { capacityBytes: 8 })
    const [ra, rb, rc] = await refsOf([a, b, c])
    await source.fetch(ra!, budget())
    await source.fetch(rb!, budget())
    await source.fetch(ra!, budget()) // a is now the most recent
    await source.fetch(rc!, budget()) // evicts b
    inner.fetches.length = 0
    expect((await source.fetch(ra!, budget())).from).toBe('cache')
    expect((await source.fetch(rc!, budget())).from).toBe('cache')
    expect((await source.fetch(rb!, budget())).from).toBe('relay')
    expect(inner.fetches.map((f) => f.ref.name)).toEqual(['b'])
  })
})
