import { describe, expect, it } from 'vitest'
import { type Grid3, planGridDispatches } from './dispatch-grid.ts'

function coverage(grid: Grid3, maxPerDimension: number, maxPerDispatch?: number) {
  const plan = planGridDispatches(grid, {
    maxPerDimension,
    ...(maxPerDispatch ? { maxPerDispatch } : {}),
  })
  const seen = new Map<string, number>()
  for (const { offset, count } of plan) {
    for (const axis of [0, 1, 2]) expect(count[axis]).toBeLessThanOrEqual(maxPerDimension)
    if (maxPerDispatch) expect(count[0] * count[1] * count[2]).toBeLessThanOrEqual(maxPerDispatch)
    for (let z = 0; z < count[2]; z++)
      for (let y = 0; y < count[1]; y++)
        for (let x = 0; x < count[0]; x++) {
          const key = `${offset[0] + x},${offset[1] + y},${offset[2] + z}`
          seen.set(key, (seen.get(key) ?? 0) + 1)
        }
  }
  return { plan, seen }
}

describe('planGridDispatches', () => {
  it('keeps a grid that fits in one dispatch', () => {
    expect(planGridDispatches([3, 4, 5], { maxPerDimension: 65535 })).toEqual([
      { offset: [0, 0, 0], count: [3, 4, 5] },
    ])
  })

  it.each([
    [[7, 5, 3], 2, undefined],
    [[100, 3, 2], 65535, 16],
    [[1, 1, 50], 65535, 7],
    [[9, 9, 9], 4, 10],
  ] as const)('covers %j exactly once (per-axis %i, per-dispatch %s)', (grid, perAxis, budget) => {
    const { seen } = coverage(grid, perAxis, budget)
    expect(seen.size).toBe(grid[0] * grid[1] * grid[2])
    expect([...seen.values()].every((n) => n === 1)).toBe(true)
  })

  it('returns no dispatch for an empty grid and rejects bad limits', () => {
    expect(planGridDispatches([0, 1, 1], { maxPerDimension: 8 })).toEqual([])
    expect(() => planGridDispatches([1, 1, 1], { maxPerDimension: 0 })).toThrow(RangeError)
    expect(() => planGridDispatches([1.5, 1, 1], { maxPerDimension: 8 })).toThrow(RangeError)
  })
})
