import { describe, expect, it } from 'vitest'
import { type KeyValueStore, memoryStore } from '../wallet/key-value-store.ts'
import { createTasksToday, localDay } from './tasks-today.ts'

describe('tasks done today', () => {
  it('counts across instances sharing a store (reloads, tabs), and restarts on a new day', async () => {
    const store = memoryStore()
    let now = new Date(2026, 11, 7, 23, 59)
    const today = () => createTasksToday({ store, now: () => now })
    expect(await today().read()).toBe(0)
    expect(await today().add()).toBe(1)
    expect(await today().add(2)).toBe(3)
    expect(await today().read()).toBe(3)
    now = new Date(2026, 11, 8, 0, 1)
    expect(await today().read()).toBe(0)
    expect(await today().add()).toBe(1)
    expect(await store.get('tasks-today')).toEqual({ day: '2026-12-08', count: 1 })
  })

  it('names the local day', () => {
    expect(localDay(new Date(2026, 0, 5, 0, 0))).toBe('2026-01-05')
  })

  it('fails within its timeout, saying what is lost, when storage hangs', async () => {
    const hanging: KeyValueStore = {
      ...memoryStore(),
      get: () => new Promise(() => undefined),
    }
    const today = createTasksToday({ store: hanging, timeoutMs: 50 })
    await expect(today.add()).rejects.toThrow(/did not answer within 50 ms.*not kept/)
  })

  it('stops when its signal aborts', async () => {
    const hanging: KeyValueStore = { ...memoryStore(), get: () => new Promise(() => undefined) }
    const stop = new AbortController()
    const reading = createTasksToday({ store: hanging }).read(stop.signal)
    stop.abort(new Error('page closed'))
    await expect(reading).rejects.toThrow('page closed')
  })
})
