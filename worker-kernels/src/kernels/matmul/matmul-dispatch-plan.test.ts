import { describe, expect, it } from 'vitest'
import { planMatmulDispatches } from './matmul-dispatch-plan.ts'

const tile = { tileRows: 32, tileCols: 32 }

describe('planMatmulDispatches', () => {
  it('uses one dispatch when the grid fits', () => {
    expect(planMatmulDispatches(100, 33, tile, 65535)).toEqual([
      { offsetX: 0, offsetY: 0, countX: 2, countY: 4 },
    ])
  })

  it('splits both axes and covers every workgroup exactly once', () => {
    const plan = planMatmulDispatches(5 * 32, 7 * 32 - 1, tile, 3)
    const covered = new Map<string, number>()
    for (const d of plan) {
      expect(d.countX).toBeLessThanOrEqual(3)
      expect(d.countY).toBeLessThanOrEqual(3)
      for (let y = 0; y < d.countY; y++) {
        for (let x = 0; x < d.countX; x++) {
          const key = `${d.offsetX + x},${d.offsetY + y}`
          covered.set(key, (covered.get(key) ?? 0) + 1)
        }
      }
    }
    expect(covered.size).toBe(7 * 5)
    expect([...covered.values()].every((count) => count === 1)).toBe(true)
  })

  it('splits a very wide product that exceeds maxComputeWorkgroupsPerDimension', () => {
    const plan = planMatmulDispatches(1, 2 ** 24, tile, 65535)
    expect(plan).toHaveLength(Math.ceil(2 ** 24 / 32 / 65535))
    expect(plan.at(-1)).toMatchObject({ offsetX: 65535 * 8, countX: 2 ** 19 - 65535 * 8 })
  })

  it('rejects a non-positive limit', () => {
    expect(() => planMatmulDispatches(1, 1, tile, 0)).toThrow(RangeError)
  })
})
