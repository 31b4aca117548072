import { describe, expect, it } from 'vitest'
import { untilAborted } from './until-aborted.ts'

/** A promise settled by hand, to see what untilAborted does before and after it settles. */
function pending<T>() {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('untilAborted', () => {
  it('settles like the work while the signal stays quiet', async () => {
    const ok = new AbortController()
    await expect(untilAborted(Promise.resolve(7), ok.signal)).resolves.toBe(7)
    const failed = untilAborted(Promise.reject(new Error('kernel failed')), ok.signal)
    await expect(failed).rejects.toThrow('kernel failed')
  })

  it('rejects with the reason when the signal aborts first, and absorbs the late failure', async () => {
    const work = pending<number>()
    const stop = new AbortController()
    const waiting = untilAborted(work.promise, stop.signal)
    stop.abort(new Error('stopped'))
    await expect(waiting).rejects.toThrow('stopped')
    // An unhandled rejection here would fail the run.
    work.reject(new Error('late'))
    await new Promise((resolve) => setTimeout(resolve))
  })

  it('rejects at once on a signal that has already aborted', async () => {
    const work = pending<number>()
    const waiting = untilAborted(work.promise, AbortSignal.abort(new Error('gone')))
    work.reject(new Error('late'))
    await expect(waiting).rejects.toThrow('gone')
  })

  it('removes its abort listener once the work settles', async () => {
    const stop = new AbortController()
    let listeners = 0
    const add = stop.signal.addEventListener.bind(stop.signal)
    const remove = stop.signal.removeEventListener.bind(stop.signal)
    stop.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners++
      add(...args)
    }) as typeof add
    stop.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      listeners--
      remove(...args)
    }) as typeof remove
    await untilAborted(Promise.resolve(1), stop.signal)
    // The listener goes in the work's `finally`, a few microtasks after the value arrives.
    await new Promise((resolve) => setTimeout(resolve))
    expect(listeners).toBe(0)
  })
})
