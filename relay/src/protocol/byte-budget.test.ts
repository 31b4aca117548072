import { describe, expect, it } from 'vitest'
import { createByteBudget } from './byte-budget.ts'

const live = () => new AbortController().signal

describe('byte budget', () => {
  it('grants in arrival order and never lends more than it has', async () => {
    const budget = createByteBudget(100)
    const first = await budget.acquire(60, live())
    const order: string[] = []
    const large = budget.acquire(80, live()).then((release) => {
      order.push('large')
      return release
    })
    // Fits now, but waits behind the larger request that came first.
    const small = budget.acquire(10, live()).then((release) => {
      order.push('small')
      return release
    })
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(order).toEqual([])
    first()
    first() // giving back twice changes nothing
    const releaseLarge = await large
    const releaseSmall = await small
    expect(order).toEqual(['large', 'small'])
    expect(budget.used).toBe(90)
    releaseLarge()
    releaseSmall()
    expect(budget.used).toBe(0)
  })

  it('refuses more than the whole budget at once, and stops waiting when aborted', async () => {
    const budget = createByteBudget(100)
    await expect(budget.acquire(101, live())).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' })
    const held = await budget.acquire(100, live())
    const controller = new AbortController()
    const waiting = budget.acquire(50, controller.signal)
    const behind = budget.acquire(1, live())
    controller.abort(new Error('gave up'))
    await expect(waiting).rejects.toThrow('gave up')
    held()
    ;(await behind)()
    expect(budget.used).toBe(0)
  })
})
