import { describe, expect, it } from 'vitest'
import { defaultControls, normalizeControls } from './controls.ts'
import { loadControls, memoryControlsBackend, saveControls } from './controls-store.ts'
import { createLiveControls } from './live-controls.ts'

const signal = new AbortController().signal

describe('controls defaults', () => {
  it('runs the page whenever started, and the widget only while visible', () => {
    expect(defaultControls('page')).toMatchObject({
      gpuShare: 1,
      paused: false,
      visibleOnly: false,
    })
    expect(defaultControls('widget').visibleOnly).toBe(true)
  })
})

describe('normalizeControls', () => {
  const defaults = defaultControls()

  it('keeps every well-formed field', () => {
    const stored = {
      gpuShare: 0.3,
      paused: true,
      visibleOnly: true,
      idleOnly: true,
      stopOnBattery: true,
      memoryCapMiB: 256,
      customKernels: false,
    }
    expect(normalizeControls(stored, defaults)).toEqual(stored)
  })

  it('replaces each bad field by its default, keeping the rest', () => {
    expect(
      normalizeControls(
        { gpuShare: 0.01, paused: 'yes', memoryCapMiB: 2.5, customKernels: false, extra: 1 },
        defaults,
      ),
    ).toEqual({ ...defaults, customKernels: false })
    expect(normalizeControls({ gpuShare: 3, memoryCapMiB: 1 }, defaults)).toEqual(defaults)
    expect(normalizeControls('garbage', defaults)).toEqual(defaults)
    expect(normalizeControls(undefined, defaults)).toEqual(defaults)
  })
})

describe('loadControls and saveControls', () => {
  it('gives the defaults on a first visit, and what was saved after', async () => {
    const backend = memoryControlsBackend()
    expect((await loadControls(defaultControls(), { backend, signal })).controls).toEqual(
      defaultControls(),
    )
    const chosen = { ...defaultControls(), gpuShare: 0.5, paused: true }
    await saveControls(chosen, { backend, signal })
    expect(await loadControls(defaultControls(), { backend, signal })).toEqual({ controls: chosen })
  })

  it('goes on with the defaults, and says why, when storage hangs or fails', async () => {
    const hanging = { read: () => new Promise<never>(() => {}), write: async () => {} }
    const slow = await loadControls(defaultControls(), {
      backend: hanging,
      signal,
      timeoutMs: 20,
    })
    expect(slow.controls).toEqual(defaultControls())
    expect(slow.error?.name).toBe('TimeoutError')

    const broken = { read: () => Promise.reject(new Error('blocked')), write: async () => {} }
    const failed = await loadControls(defaultControls(), { backend: broken, signal })
    expect(failed.error?.message).toBe('blocked')
  })

  it('a save rejects when aborted', async () => {
    const stop = new AbortController()
    const hanging = { read: async () => undefined, write: () => new Promise<never>(() => {}) }
    const saving = saveControls(defaultControls(), { backend: hanging, signal: stop.signal })
    stop.abort(new Error('page closed'))
    await expect(saving).rejects.toThrow('page closed')
  })
})

describe('createLiveControls', () => {
  it('tells listeners of a change at once, and stores the last change', async () => {
    const backend = memoryControlsBackend()
    const live = createLiveControls({ initial: defaultControls(), backend, signal })
    const seen: number[] = []
    live.subscribe(() => seen.push(live.current().gpuShare))
    live.update({ gpuShare: 0.5 })
    live.update({ gpuShare: 0.2, paused: true })
    expect(seen).toEqual([0.5, 0.2])
    await live.saved()
    expect(backend.value).toEqual({ ...defaultControls(), gpuShare: 0.2, paused: true })
  })

  it('reports a change it could not store, which still holds for the page', async () => {
    const errors: string[] = []
    const live = createLiveControls({
      initial: defaultControls(),
      backend: { read: async () => undefined, write: () => Promise.reject(new Error('quota')) },
      signal,
      onSaveError: (err) => errors.push(err.message),
    })
    live.update({ paused: true })
    await live.saved()
    expect(errors).toEqual(['quota'])
    expect(live.current().paused).toBe(true)
  })
})
