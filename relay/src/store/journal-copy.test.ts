import { describe, expect, it } from 'vitest'
import { copyJournalValue } from './journal-copy.ts'

describe('copyJournalValue', () => {
  it('copies as structuredClone does, deeply, sharing nothing with the original', () => {
    const bytes = new Uint8Array(new ArrayBuffer(16), 4, 4).fill(7)
    const original = {
      id: 'job_1',
      amount: 2n ** 63n - 1n,
      missing: undefined,
      none: null,
      flags: [true, false],
      spec: { inputs: [{ blob: 'ab', range: { byteOffset: 0 } }], f: new Float32Array([1.5, 2]) },
      bytes,
      when: new Date(5),
      map: new Map([['k', { v: 1 }]]),
    }
    const copy = copyJournalValue(original)
    expect(copy).toEqual(structuredClone(original))
    expect(Object.keys(copy)).toEqual(Object.keys(original))
    // Mutating the original afterwards does not reach the copy.
    original.spec.inputs[0]!.range.byteOffset = 9
    original.flags.push(true)
    bytes[0] = 1
    original.spec.f[0] = 0
    original.map.get('k')!.v = 2
    expect(copy.spec.inputs[0]?.range.byteOffset).toBe(0)
    expect(copy.flags).toEqual([true, false])
    expect(copy.bytes).toEqual(new Uint8Array([7, 7, 7, 7]))
    expect(copy.bytes.buffer.byteLength).toBe(4)
    expect(copy.spec.f[0]).toBe(1.5)
    expect(copy.map.get('k')?.v).toBe(1)
    expect(copy.when).not.toBe(original.when)
  })

  it('copies a Buffer into memory of its own, as a Uint8Array', () => {
    const pooled = Buffer.from('abcd')
    const copy = copyJournalValue(pooled)
    pooled[0] = 0
    expect(copy).toEqual(structuredClone(Buffer.from('abcd')))
    expect(copy[0]).toBe(97)
    expect(copy.buffer.byteLength).toBe(4)
  })

  it('returns primitives as they are', () => {
    for (const value of [1, 'a', 3n, true, null, undefined])
      expect(copyJournalValue(value)).toBe(value)
  })
})
