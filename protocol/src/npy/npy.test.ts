import { describe, expect, it } from 'vitest'
import { encodeNpy, type NdArray, npyHeaderBytes, parseNpy, parseNpyHeader } from './npy.ts'

/** Builds a version 1.0 .npy by hand, so every header variant can be tested without numpy. */
function npyWith(dict: string, data: Uint8Array): Uint8Array {
  const header = `${dict}\n`
  const out = new Uint8Array(10 + header.length + data.length)
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0])
  new DataView(out.buffer).setUint16(8, header.length, true)
  out.set(new TextEncoder().encode(header), 10)
  out.set(data, 10 + header.length)
  return out
}

describe('.npy codec', () => {
  it('round-trips float32, int32 and float16 arrays of any rank', () => {
    const arrays: NdArray[] = [
      { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) },
      { dtype: 'int32', shape: [4], data: Int32Array.from([-1, 0, 1, 2 ** 31 - 1]) },
      { dtype: 'float16', shape: [1, 2, 1], data: Uint16Array.from([0x3c00, 0xc000]) },
      { dtype: 'float32', shape: [0, 3], data: new Float32Array(0) },
    ]
    for (const array of arrays) {
      const bytes = encodeNpy(array)
      expect((bytes.length - array.data.byteLength) % 64).toBe(0)
      expect(parseNpy(bytes)).toEqual(array)
    }
  })

  it("does not alias the caller's buffer", () => {
    const bytes = encodeNpy({ dtype: 'float32', shape: [2], data: Float32Array.from([1, 2]) })
    const parsed = parseNpy(bytes)
    bytes.fill(0)
    expect([...parsed.data]).toEqual([1, 2])
  })

  it('refuses other dtypes, Fortran order, bad magic and truncated data by name', () => {
    const f8 = npyWith(
      "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
      new Uint8Array(8),
    )
    expect(() => parseNpy(f8)).toThrow(/unsupported dtype '<f8'/)
    const big = npyWith(
      "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
      new Uint8Array(4),
    )
    expect(() => parseNpy(big)).toThrow(/unsupported dtype '>f4'/)
    const fortran = npyWith(
      "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1), }",
      new Uint8Array(4),
    )
    expect(() => parseNpy(fortran)).toThrow(/Fortran-order/)
    expect(() => parseNpy(npyWith("{'descr': '<f4'}", new Uint8Array(0)))).toThrow(
      /lacks descr, fortran_order or shape/,
    )
    expect(() => parseNpy(new TextEncoder().encode('hello world'))).toThrow(/bad magic/)
    const ok = encodeNpy({ dtype: 'float32', shape: [2, 2], data: new Float32Array(4) })
    expect(() => parseNpy(ok.subarray(0, ok.length - 1))).toThrow(
      /needs 16 data bytes, file has 15/,
    )
  })

  it('round-trips uint32 and reads a header without its data', () => {
    const array: NdArray = {
      dtype: 'uint32',
      shape: [3, 1],
      data: Uint32Array.from([0, 1, 2 ** 32 - 1]),
    }
    const bytes = encodeNpy(array)
    expect(parseNpy(bytes)).toEqual(array)
    const headerLength = npyHeaderBytes(bytes.subarray(0, 12))
    expect(parseNpyHeader(bytes.subarray(0, headerLength))).toEqual({
      dtype: 'uint32',
      shape: [3, 1],
      dataOffset: headerLength,
      dataBytes: 12,
    })
    expect(() => parseNpyHeader(bytes.subarray(0, headerLength - 1))).toThrow(/truncated/)
  })

  it('switches to format 2.0 when the padded header no longer fits 16 bits', () => {
    // Dictionaries just under and over the limit: format 1.0 holds the *padded* header's
    // length, so a dictionary of 65,528 characters already needs 2.0.
    for (const [rank, version] of [
      [21_820, 1],
      [21_825, 2],
      [21_860, 2],
    ] as const) {
      const array: NdArray = {
        dtype: 'float32',
        shape: Array.from({ length: rank }, () => 1),
        data: Float32Array.from([7]),
      }
      const bytes = encodeNpy(array)
      expect(bytes.length % 64).toBe(4)
      expect(bytes[6]).toBe(version)
      expect(parseNpy(bytes)).toEqual(array)
    }
  })

  it('refuses to encode data that does not fill its shape', () => {
    expect(() => encodeNpy({ dtype: 'float32', shape: [2, 2], data: new Float32Array(3) })).toThrow(
      /has 4 elements, data has 3/,
    )
  })
})
