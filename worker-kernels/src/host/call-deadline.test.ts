import { describe, expect, it } from 'vitest'
import { GpuUnavailableError, KernelAbortedError, KernelTimeoutError } from '../errors.ts'
import { createCallDeadline, MAX_TIMEOUT_MS } from './call-deadline.ts'

/** Resolves to `'pending'` if `work` has not settled within `ms`. */
function settledWithin<T>(work: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([work, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))])
}

const never = new Promise<never>(() => {})

describe('createCallDeadline', () => {
  it('rejects with KernelTimeoutError once timeoutMs passes', async () => {
    const deadline = createCallDeadline({ timeoutMs: 10 })
    try {
      await expect(deadline.race(never)).rejects.toThrow(KernelTimeoutError)
    } finally {
      deadline.dispose()
    }
  })

  it("rejects with the caller's timeoutError and reports what it was cancelled with", async () => {
    const deadline = createCallDeadline({
      timeoutMs: 10,
      timeoutError: () => new GpuUnavailableError('requestAdapter() did not answer'),
    })
    try {
      expect(deadline.cancelled).toBeUndefined()
      await expect(deadline.race(never)).rejects.toThrow(GpuUnavailableError)
      expect(deadline.cancelled).toBeInstanceOf(GpuUnavailableError)
      expect(() => deadline.throwIfCancelled()).toThrow(/did not answer/)
    } finally {
      deadline.dispose()
    }
  })

  it('sets no timer for Infinity: the call waits, and the signal still cancels it', async () => {
    const controller = new AbortController()
    const deadline = createCallDeadline({
      timeoutMs: Number.POSITIVE_INFINITY,
      signal: controller.signal,
    })
    try {
      const raced = deadline.race(never)
      raced.catch(() => {})
      // A timer given Infinity fires after about 1 ms; 50 ms shows there is none.
      expect(await settledWithin(raced, 50)).toBe('pending')
      controller.abort()
      await expect(raced).rejects.toThrow(KernelAbortedError)
    } finally {
      deadline.dispose()
    }
  })

  it('accepts the largest timer delay without firing early', async () => {
    const deadline = createCallDeadline({ timeoutMs: MAX_TIMEOUT_MS })
    try {
      expect(await settledWithin(deadline.race(Promise.resolve('done')), 50)).toBe('done')
      const raced = deadline.race(never)
      raced.catch(() => {})
      expect(await settledWithin(raced, 50)).toBe('pending')
    } finally {
      deadline.dispose()
    }
  })

  it.each([MAX_TIMEOUT_MS + 1, 2 ** 40, 0, -5, Number.NaN, Number.NEGATIVE_INFINITY])(
    'rejects timeoutMs %d with a RangeError naming the limit',
    (timeoutMs) => {
      expect(() => createCallDeadline({ timeoutMs })).toThrow(RangeError)
      expect(() => createCallDeadline({ timeoutMs })).toThrow(/up to 2147483647, or Infinity/)
    },
  )
})
