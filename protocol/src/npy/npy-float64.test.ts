import { describe, expect, it } from 'vitest'
import { encodeNpy, parseNpy } from './npy.ts'
import { NpyError } from './npy-error.ts'
import { castFloat64Npy, parseFloat64NpyHeader } from './npy-float64.ts'

/**
 * A version 1.0 float64 `.npy` by hand, its header `pad` spaces longer than the dictionary
 * needs: numpy aligns data to 64 bytes, other writers need not.
 */
function float64Npy(
  shape: number[],
  values: number[],
  { pad = 0, fortran = false }: { pad?: number; fortran?: boolean } = {},
): Uint8Array {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`
  const header = `{'descr': '<f8', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${dims}, }${' '.repeat(pad)}\n`
  const out = new Uint8Array(10 + header.length + values.length * 8)
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0])
  new DataView(out.buffer).setUint16(8, header.length, true)
  out.set(new TextEncoder().encode(header), 10)
  out.set(new Uint8Array(Float64Array.from(values).buffer), 10 + header.length)
  return out
}

describe('float64 .npy files cast to float32', () => {
  it('recognises a float64 header as the float32 it becomes, and leaves other dtypes alone', () => {
    const bytes = float64Npy([2, 3], [1, 2, 3, 4, 5, 6])
    const float64 = parseFloat64NpyHeader(bytes)
    expect(float64).toEqual({
      header: { dtype: 'float32', shape: [2, 3], dataOffset: bytes.length - 48, dataBytes: 24 },
      float64Bytes: 48,
    })
    const float32 = encodeNpy({ dtype: 'float32', shape: [2], data: new Float32Array(2) })
    expect(parseFloat64NpyHeader(float32)).toBeUndefined()
  })

  it('casts with the data aligned or not, keeping the shape', () => {
    const values = [0.1, -1e-10, 3, 1e30, Number.NaN, -Infinity]
    const expected = values.map(Math.fround)
    for (let pad = 0; pad < 8; pad++) {
      const file = float64Npy([3, 2], values, { pad })
      // The data's offset in the file, and in a buffer that starts one byte before it.
      const shifted = new Uint8Array(file.length + 1)
      shifted.set(file, 1)
      for (const bytes of [file, shifted.subarray(1)]) {
        const array = castFloat64Npy(bytes, parseFloat64NpyHeader(bytes)!)
        expect(array.dtype).toBe('float32')
        expect(array.shape).toEqual([3, 2])
        expect([...array.data]).toEqual(expected)
      }
    }
    // The result is its own: not a view of the caller's bytes.
    const bytes = float64Npy([2], [1, 2])
    const array = castFloat64Npy(bytes, parseFloat64NpyHeader(bytes)!)
    bytes.fill(0)
    expect([...array.data]).toEqual([1, 2])
  })

  it('refuses Fortran order, which no cast fixes', () => {
    const bytes = float64Npy([2, 2], [1, 2, 3, 4], { fortran: true })
    expect(() => parseFloat64NpyHeader(bytes)).toThrow(NpyError)
    expect(() => parseFloat64NpyHeader(bytes)).toThrow(/Fortran-order/)
  })

  it('names, by numpy index, the first finite element float32 cannot hold', () => {
    const bytes = float64Npy([2, 3], [1, 2, 3, 4, -1e39, 1e300])
    const float64 = parseFloat64NpyHeader(bytes)!
    let error: unknown
    try {
      castFloat64Npy(bytes, float64)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(NpyError)
    expect((error as NpyError).code).toBe('UNSUPPORTED_DTYPE')
    expect((error as NpyError).message).toMatch(
      /^element \(1, 1\) is -1e\+39, beyond float32's range \(±3\.40e\+38\): it would become -Infinity; scale the data first$/,
    )
    const vector = float64Npy([3], [1, 2, 5e38])
    expect(() => castFloat64Npy(vector, parseFloat64NpyHeader(vector)!)).toThrow(
      /^element \(2,\) is 5e\+38/,
    )
  })

  it('refuses a file whose data is not what its header declares', () => {
    const whole = float64Npy([4], [1, 2, 3, 4])
    const cut = whole.subarray(0, whole.length - 8)
    expect(() => castFloat64Npy(cut, parseFloat64NpyHeader(cut)!)).toThrow(
      /needs 32 data bytes, file has 24/,
    )
    // parseNpy itself still refuses float64, naming the dtype.
    expect(() => parseNpy(whole)).toThrow(/unsupported dtype '<f8'/)
  })
})
