import { describe, expect, it } from 'vitest'
import { float16Bits, float16Value, fromFloat16, toFloat16 } from './float16.ts'

describe('float16 conversions', () => {
  it('encodes known values', () => {
    expect(float16Bits(0)).toBe(0x0000)
    expect(float16Bits(-0)).toBe(0x8000)
    expect(float16Bits(1)).toBe(0x3c00)
    expect(float16Bits(-2)).toBe(0xc000)
    expect(float16Bits(65504)).toBe(0x7bff)
    expect(float16Bits(65520)).toBe(0x7c00) // rounds past the largest half
    expect(float16Bits(Number.NEGATIVE_INFINITY)).toBe(0xfc00)
    expect(float16Bits(2 ** -24)).toBe(0x0001) // smallest subnormal
    expect(float16Bits(2 ** -14)).toBe(0x0400) // smallest normal
    expect(float16Bits(Number.NaN) & 0x7c00).toBe(0x7c00)
  })

  it('rounds to nearest, ties to even', () => {
    expect(float16Bits(1 + 2 ** -11)).toBe(0x3c00) // tie, even is 1
    expect(float16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02) // tie, even is 1 + 2⁻⁹
    expect(float16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01) // just above the tie
    expect(float16Bits(2 ** -25)).toBe(0) // half the smallest subnormal: even is 0
    expect(float16Bits(3 * 2 ** -25)).toBe(0x0002)
  })

  it('decodes and re-encodes every one of the 65536 bit patterns', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = float16Value(bits)
      if (Number.isNaN(value)) continue
      expect(float16Bits(value)).toBe(bits)
    }
  })

  it('converts arrays both ways', () => {
    const values = [0.5, -3.25, 1000, 2 ** -20]
    expect([...fromFloat16(toFloat16(values))]).toEqual(values)
  })
})
