import { MAX_HELD_BLOBS } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { fallbackInputSource } from './fallback-input-source.ts'
import type { InputSource } from './input-source.ts'
import { f32, fakeInputs, refsOf } from './testing/fake-work.ts'

const x = { name: 'x', dtype: 'float32' as const, shape: [2], bytes: f32(1, 2) }
const budget = () => ({ signal: AbortSignal.timeout(5_000), timeoutMs: 5_000 })

const dead: InputSource = {
  fetch: () => Promise.reject(new Error('dial failed: connection refused')),
  held: () => [],
}
/** Never answers and ignores its signal, as a peer whose stream stalls might. */
const slow: InputSource = { fetch: () => new Promise(() => {}), held: () => [] }
const lying: InputSource = {
  fetch: async (ref) => ({ bytes: new Uint8Array(ref.byteLength).fill(1), from: 'peer' }),
  held: () => [],
}
const short: InputSource = {
  fetch: async () => ({ bytes: f32(1), from: 'peer' }),
  held: () => [],
}

describe('fallbackInputSource', () => {
  it.each([
    ['dead', dead],
    ['lying', lying],
    ['short', short],
  ])('a %s source costs a fallback, never a wrong input', async (_, bad) => {
    const [ref] = await refsOf([x])
    const good = fakeInputs([x])
    const source = fallbackInputSource([
      { name: 'bad', source: bad },
      { name: 'relay', source: good.source },
    ])
    const got = await source.fetch(ref!, budget())
    expect(got).toEqual({ bytes: x.bytes, from: 'relay', fallbacks: 1 })
  })

  it('a slow source costs its own budget, then a fallback', async () => {
    const [ref] = await refsOf([x])
    const good = fakeInputs([x])
    const source = fallbackInputSource([
      { name: 'slow', source: slow, timeoutMs: 100 },
      { name: 'relay', source: good.source },
    ])
    const started = performance.now()
    expect(await source.fetch(ref!, budget())).toMatchObject({ from: 'relay', fallbacks: 1 })
    expect(performance.now() - started).toBeLessThan(2_000)
  })

  it('names every failure when no source serves the input', async () => {
    const [ref] = await refsOf([x])
    const source = fallbackInputSource([
      { name: 'peer', source: lying },
      { name: 'relay', source: dead },
    ])
    await expect(source.fetch(ref!, budget())).rejects.toMatchObject({
      code: 'INPUT_UNAVAILABLE',
      message: expect.stringMatching(/peer: input x .*hashes to .*; relay: dial failed/),
    })
  })

  it('an abort of the caller is thrown as is, without trying further sources', async () => {
    const [ref] = await refsOf([x])
    const stop = new AbortController()
    const good = fakeInputs([x])
    const source = fallbackInputSource([
      { name: 'slow', source: slow },
      { name: 'relay', source: good.source },
    ])
    const fetching = source.fetch(ref!, { signal: stop.signal, timeoutMs: 5_000 })
    stop.abort(new Error('task stopped'))
    await expect(fetching).rejects.toThrow('task stopped')
    expect(good.fetches).toHaveLength(0)
  })

  it('holds what its sources hold, once each, at most MAX_HELD_BLOBS', () => {
    const hashes = Array.from({ length: MAX_HELD_BLOBS }, (_, i) =>
      i.toString(16).padStart(64, '0'),
    )
    const source = fallbackInputSource([
      { name: 'one', source: { fetch: dead.fetch, held: () => hashes.slice(0, 10) } },
      { name: 'two', source: { fetch: dead.fetch, held: () => hashes } },
    ])
    expect(source.held?.()).toEqual(hashes)
  })
})
