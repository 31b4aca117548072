import { describe, expect, it } from 'vitest'
import {
  alignedViewAs,
  BYTES_PER_ELEMENT,
  elementCount,
  isTensorDtype,
  TENSOR_DTYPES,
  TensorDtypeSchema,
  tensorByteLength,
  typedArrayClassOf,
  viewAs,
} from './dtypes.ts'

describe('tensor dtypes', () => {
  it('lists every dtype, each with the typed array of its element size', () => {
    expect(TENSOR_DTYPES).toEqual(['float32', 'float16', 'int32', 'uint32'])
    for (const dtype of TENSOR_DTYPES) {
      expect(typedArrayClassOf(dtype).BYTES_PER_ELEMENT, dtype).toBe(BYTES_PER_ELEMENT[dtype])
      expect(TensorDtypeSchema.parse(dtype)).toBe(dtype)
    }
    expect(typedArrayClassOf('float16')).toBe(Uint16Array)
  })

  it('knows its own dtypes only, not names on the prototype', () => {
    expect(isTensorDtype('int32')).toBe(true)
    for (const value of ['float64', 'toString', 'constructor', 4, undefined])
      expect(isTensorDtype(value), String(value)).toBe(false)
  })

  it('counts elements and bytes of a shape', () => {
    expect(elementCount([])).toBe(1)
    expect(elementCount([3, 0])).toBe(0)
    expect(tensorByteLength([3, 4], 'float32')).toBe(48)
    expect(tensorByteLength([3], 'float16')).toBe(6)
  })

  it('views bytes as the typed array of a dtype without copying', () => {
    const buffer = new ArrayBuffer(12)
    const bytes = new Uint8Array(buffer, 4, 7)
    const view = viewAs('uint32', bytes)
    expect(view).toBeInstanceOf(Uint32Array)
    expect(view.length).toBe(1)
    expect(view.buffer).toBe(buffer)
    expect(viewAs('float16', buffer)).toHaveLength(6)
  })

  it('alignedViewAs views aligned bytes in place and copies misaligned ones', () => {
    const buffer = new ArrayBuffer(12)
    new Float32Array(buffer).set([1, 2, 3])
    const aligned = alignedViewAs('float32', new Uint8Array(buffer, 4, 8))
    expect([...aligned]).toEqual([2, 3])
    expect(aligned.buffer).toBe(buffer)
    const bytes = new Uint8Array(13)
    bytes.set(new Uint8Array(buffer), 1)
    const misaligned = alignedViewAs('float32', bytes.subarray(1, 13))
    expect([...misaligned]).toEqual([1, 2, 3])
    expect(misaligned.buffer).not.toBe(bytes.buffer)
  })
})
