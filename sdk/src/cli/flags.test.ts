import { describe, expect, it } from 'vitest'
import { budgetFlag } from './flags.ts'

describe('--budget', () => {
  it('keeps a budget past 2^53 exact, as the decimal string the job spec takes', () => {
    expect(budgetFlag(undefined)).toBeUndefined()
    expect(budgetFlag('10')).toBe(10)
    expect(budgetFlag(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER)
    // 2^53 + 1: a Number would read 2^53.
    expect(budgetFlag('9007199254740993')).toBe('9007199254740993')
    expect(budgetFlag('9223372036854775807')).toBe('9223372036854775807')
  })

  it('refuses fractions, signs and amounts past the ledger’s 2^63 − 1', () => {
    for (const bad of ['1.5', '-1', '', '1e3', '9223372036854775808'])
      expect(() => budgetFlag(bad)).toThrow(/--budget must be a whole, non-negative number/)
  })
})
