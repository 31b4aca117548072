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

  it('never holds zero-byte or small reservations behind large ones', async () => {
    const budget = createByteBudget(100, { smallBytes: 5, smallReserve: 20 })
    // Large reservations may fill 80 of the 100; the last 20 are the small lane's.
    const pinned = [await budget.acquire(40, live()), await budget.acquire(40, live())]
    const blocked = budget.acquire(10, live())
    let largeGranted = false
    void blocked.then(() => {
      largeGranted = true
    })
    // A large one waits, yet a message without payload and a small one pass at once.
    ;(await budget.acquire(0, live()))()
    const small = await budget.acquire(5, live())
    expect(budget.used).toBe(85)
    small()
    expect(largeGranted).toBe(false)
    for (const release of pinned) release()
    ;(await blocked)()
    expect(budget.used).toBe(0)
  })

  it('caps what one holder may hold or wait for, and frees its share on release', async () => {
    const budget = createByteBudget(100, { maxPerHolder: 30 })
    const held = await budget.acquire(20, live(), 'peer-a')
    await expect(budget.acquire(20, live(), 'peer-a')).rejects.toMatchObject({
      code: 'PEER_BUDGET_EXCEEDED',
    })
    // Others are not held to peer-a's share.
    ;(await budget.acquire(30, live(), 'peer-b'))()
    held()
    ;(await budget.acquire(30, live(), 'peer-a'))()
    expect(budget.used).toBe(0)
  })
})
