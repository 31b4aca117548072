import { describe, expect, it } from 'vitest'
import { toNdArray } from './tensor-input.ts'

describe('toNdArray', () => {
  it('infers the dtype from the typed array and keeps the data without copying', () => {
    const data = new Int32Array([1, 2, 3, 4, 5, 6])
    const array = toNdArray('x', { data, shape: [2, 3] })
    expect(array).toMatchObject({ dtype: 'int32', shape: [2, 3] })
    expect(array.data).toBe(data)
  })

  it('accepts a C-contiguous scijs ndarray with an offset', () => {
    const data = new Float32Array([9, 1, 2, 3, 4])
    const array = toNdArray('x', {
      data,
      shape: [2, 2],
      stride: [2, 1],
      offset: 1,
      dtype: 'float32',
    })
    expect([...array.data]).toEqual([1, 2, 3, 4])
  })

  it.each([
    [{ data: new Float32Array(6), shape: [2, 2] }, /shape \(2, 2\) = 4 elements but data has 6/],
    [{ data: new Uint16Array(4), shape: [4] }, /cannot tell the dtype of a Uint16Array/],
    [
      { data: new Float32Array(4), shape: [4], dtype: 'int32' },
      /says dtype int32 but holds a Float32Array/,
    ],
    [{ data: new Float32Array(4), shape: [4], dtype: 'float64' }, /is float64; Tabswarm takes/],
    // A dtype named like an Object.prototype member must not be looked up through it.
    [{ data: new Float32Array(4), shape: [4], dtype: 'toString' }, /is toString; Tabswarm takes/],
    [
      { data: new Float32Array(4), shape: [4], dtype: 'constructor' },
      /is constructor; Tabswarm takes/,
    ],
    [{ data: new Float32Array(4), shape: [2, 2], stride: [1, 2] }, /not C-contiguous/],
    [{ data: new Float32Array(4), shape: [-1, -4] }, /non-negative integers/],
    [{ data: [1, 2], shape: [2] }, /must be \{ data: TypedArray/],
  ])('refuses %o by name', (input, message) => {
    expect(() => toNdArray('arg', input as never)).toThrow(message)
  })

  it('takes float16 as raw bits when the dtype says so', () => {
    const array = toNdArray('h', { data: new Uint16Array([0x3c00]), shape: [1], dtype: 'float16' })
    expect(array.dtype).toBe('float16')
  })
})
