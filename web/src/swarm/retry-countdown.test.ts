import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createRetryCountdown } from './retry-countdown.ts'

describe('the retry countdown', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('renders the seconds left at once and each second after, down to 0, then stops', () => {
    const shown: number[] = []
    const countdown = createRetryCountdown()
    countdown.start(2_500, (s) => shown.push(s))
    expect(shown).toEqual([3])
    vi.advanceTimersByTime(5_000)
    expect(shown).toEqual([3, 2, 1, 0])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a new start or a stop ends the count in progress', () => {
    const first: number[] = []
    const second: number[] = []
    const countdown = createRetryCountdown()
    countdown.start(10_000, (s) => first.push(s))
    vi.advanceTimersByTime(1_000)
    countdown.start(1_000, (s) => second.push(s))
    vi.advanceTimersByTime(3_000)
    expect(first).toEqual([10, 9])
    expect(second).toEqual([1, 0])
    countdown.start(5_000, (s) => second.push(s))
    countdown.stop()
    vi.advanceTimersByTime(10_000)
    expect(second).toEqual([1, 0, 5])
    expect(vi.getTimerCount()).toBe(0)
  })
})
