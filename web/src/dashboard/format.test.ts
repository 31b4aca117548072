import { describe, expect, it } from 'vitest'
import * as format from './format.ts'

describe('the dashboard’s numbers in words', () => {
  it('writes GFLOP readably at every size, credits exactly', () => {
    expect(format.gflop(1_234.5e9)).toBe('1,234.5 GFLOP')
    expect(format.gflop(1_105_920)).toBe('0.00111 GFLOP')
    expect(format.gflop(0)).toBe('0 GFLOP')
    expect(format.gflopPerSecond(41.5)).toBe('41.5 GFLOP/s')
    expect(format.credits('9007199254740993')).toBe('9,007,199,254,740,993 credits')
    expect(format.credits(1n)).toBe('1 credit')
    expect(format.plural(1, 'task')).toBe('1 task')
    expect(format.plural(3, 'task')).toBe('3 tasks')
    expect(format.duration(850)).toBe('850 ms')
    expect(format.duration(12_345)).toBe('12.35 s')
    expect(format.duration(245_000)).toBe('4 min 5 s')
  })
})
