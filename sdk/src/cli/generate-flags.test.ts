import { describe, expect, it } from 'vitest'
import { batchPrompts, maxTokensFlag, samplingFromFlags, stagesFlag } from './generate-flags.ts'

describe('tabswarm generate flags', () => {
  it('decode greedily without sampling flags, and sample from a printed seed with any', () => {
    expect(samplingFromFlags({})).toEqual({ mode: 'greedy' })
    expect(samplingFromFlags({ temperature: '0.7' }, () => 99)).toEqual({
      mode: 'sample',
      seed: 99,
      temperature: 0.7,
    })
    expect(
      samplingFromFlags({ 'top-k': '40', 'top-p': '0.9', seed: '-5', temperature: '1' }, () => 1),
    ).toEqual({ mode: 'sample', seed: -5, topK: 40, topP: 0.9, temperature: 1 })
  })

  it.each([
    [{ temperature: '0' }, /--temperature must be a number above 0/],
    [{ temperature: 'hot' }, /--temperature must be/],
    [{ 'top-k': '0' }, /--top-k must be a positive integer/],
    [{ 'top-k': '1000' }, /--top-k must be at most 256/],
    [{ 'top-p': '1.5' }, /--top-p must be above 0 and at most 1/],
    [{ seed: '1.5' }, /--seed must be a 32-bit integer/],
    [{ seed: String(2 ** 33) }, /--seed must be a 32-bit integer/],
  ])('refuse %j, naming the flag', (flags, message) => {
    expect(() => samplingFromFlags(flags)).toThrow(message)
  })

  it('bound --max-tokens and --stages, and read one prompt a line from --batch', () => {
    expect(maxTokensFlag(undefined, 64)).toBe(64)
    expect(maxTokensFlag('12', 64)).toBe(12)
    expect(() => maxTokensFlag('5000', 64)).toThrow(/--max-tokens must be at most 1024/)
    expect(stagesFlag(undefined)).toBeUndefined()
    expect(() => stagesFlag('0')).toThrow(/--stages must be a positive integer/)
    expect(batchPrompts('Once upon\r\n\n  \nIn 1905,  \n', 'p.txt')).toEqual([
      'Once upon',
      'In 1905,',
    ])
    expect(() => batchPrompts('\n\n', 'p.txt')).toThrow(/--batch p\.txt holds no prompts/)
  })
})
