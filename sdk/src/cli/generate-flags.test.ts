import { describe, expect, it } from 'vitest'
import {
  batchPrompts,
  maxTokensFlag,
  samplingFromFlags,
  stagesFlag,
  verificationFromFlags,
} from './generate-flags.ts'

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

  it('read --replication and --spot-check as a verification policy, refusing nonsense', () => {
    expect(verificationFromFlags({})).toBeUndefined()
    expect(verificationFromFlags({ replication: '1', 'spot-check': '1' })).toEqual({
      replication: 1,
      spotCheck: 1,
    })
    expect(verificationFromFlags({ 'spot-check': '0.25' })).toEqual({ spotCheck: 0.25 })
    expect(() => verificationFromFlags({ replication: '9' })).toThrow(/at most 8/)
    expect(() => verificationFromFlags({ 'spot-check': '1.5' })).toThrow(
      /--spot-check must be a fraction from 0 to 1, got 1.5/,
    )
    expect(() => verificationFromFlags({ 'spot-check': 'all' })).toThrow(/got all/)
  })
})
