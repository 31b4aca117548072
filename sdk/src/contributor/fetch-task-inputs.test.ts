import { describe, expect, it } from 'vitest'
import { fetchTaskInputs, MAX_CONCURRENT_INPUT_FETCHES } from './fetch-task-inputs.ts'
import type { InputSource } from './input-source.ts'
import { f32, fakeInputs, refsOf } from './testing/fake-work.ts'

const input = (name: string, ...values: number[]) => ({
  name,
  dtype: 'float32' as const,
  shape: [values.length],
  bytes: f32(...values),
})

describe('fetchTaskInputs', () => {
  it('fetches an input named twice in a task once, and returns it for both', async () => {
    const a = input('a', 1, 2)
    const refs = await refsOf([a, { ...a, name: 'b' }])
    const inputs = fakeInputs([a], { from: 'cache' })
    const { buffers, fetched } = await fetchTaskInputs(refs, inputs.source, {
      signal: AbortSignal.timeout(5_000),
      timeoutMs: 5_000,
    })
    expect(buffers).toEqual([a.bytes, a.bytes])
    expect(inputs.fetches).toHaveLength(1)
    expect(fetched.bytes).toEqual({ cache: 8, peer: 0, relay: 0 })
  })

  it('keeps at most MAX_CONCURRENT_INPUT_FETCHES fetches in flight (streams a peer allows)', async () => {
    const weights = Array.from({ length: 20 }, (_, i) => input(`w${i}`, i))
    const refs = await refsOf(weights)
    let inFlight = 0
    let most = 0
    const source: InputSource = {
      async fetch(ref) {
        most = Math.max(most, ++inFlight)
        await new Promise((resolve) => setTimeout(resolve, 5))
        inFlight--
        return { bytes: weights.find((w) => w.name === ref.name)!.bytes, from: 'relay' }
      },
    }
    const { buffers } = await fetchTaskInputs(refs, source, {
      signal: AbortSignal.timeout(5_000),
      timeoutMs: 5_000,
    })
    expect(buffers).toEqual(weights.map((w) => w.bytes))
    expect(most).toBe(MAX_CONCURRENT_INPUT_FETCHES)
  })

  it('leaves a lazy input for the program to ask for, unless told to fetch it', async () => {
    const x = input('x', 1)
    const prefix = input('prefix', 2, 3)
    const [xRef, prefixRef] = await refsOf([x, prefix])
    const refs = [xRef!, { ...prefixRef!, lazy: true as const }]
    const inputs = fakeInputs([x, prefix])
    const budget = { signal: AbortSignal.timeout(5_000), timeoutMs: 5_000 }
    const upFront = await fetchTaskInputs(refs, inputs.source, budget)
    expect(upFront.buffers).toEqual([x.bytes, undefined])
    expect(inputs.fetches.map((f) => f.ref.name)).toEqual(['x'])
    const asked = await fetchTaskInputs([refs[1]!], inputs.source, { ...budget, includeLazy: true })
    expect(asked.buffers).toEqual([prefix.bytes])
  })

  it('the first input that fails ends the other fetches', async () => {
    const refs = await refsOf([input('a', 1), input('b', 2)])
    const aborted: boolean[] = []
    const source: InputSource = {
      fetch: (ref, { signal }) =>
        ref.name === 'a'
          ? Promise.reject(new Error('not found'))
          : new Promise((_, reject) =>
              signal.addEventListener('abort', () => {
                aborted.push(true)
                reject(signal.reason)
              }),
            ),
      held: () => [],
    }
    await expect(
      fetchTaskInputs(refs, source, { signal: AbortSignal.timeout(5_000), timeoutMs: 5_000 }),
    ).rejects.toMatchObject({
      code: 'INPUT_UNAVAILABLE',
      message: expect.stringContaining('not found'),
    })
    expect(aborted).toEqual([true])
  })

  it('a stop of the task is thrown as its own reason, not as an input error', async () => {
    const refs = await refsOf([input('a', 1)])
    const stop = new AbortController()
    const fetching = fetchTaskInputs(
      refs,
      { fetch: () => new Promise(() => {}), held: () => [] },
      { signal: stop.signal, timeoutMs: 5_000 },
    )
    stop.abort(new Error('lease lost'))
    await expect(fetching).rejects.toThrow('lease lost')
  })
})
