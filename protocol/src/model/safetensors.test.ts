import { describe, expect, it } from 'vitest'
import {
  parseSafetensorsHeader,
  readSafetensorsTensor,
  SAFETENSORS_LIMITS,
  safetensorsHeaderLength,
} from './safetensors.ts'
import { locateSafetensors, parseSafetensorsIndex } from './safetensors-index.ts'
import { encodeSafetensors } from './safetensors-writer.ts'

/** A file from a header written by hand (the lies below need a header the writer would never produce). */
function rawFile(
  header: unknown,
  dataBytes: number,
  headerText = JSON.stringify(header),
): Uint8Array {
  const json = new TextEncoder().encode(headerText)
  const file = new Uint8Array(8 + json.length + dataBytes)
  new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true)
  file.set(json, 8)
  return file
}

const entry = (dtype: string, shape: number[], begin: number, end: number) => ({
  dtype,
  shape,
  data_offsets: [begin, end],
})

describe('parseSafetensorsHeader', () => {
  it('reads what encodeSafetensors writes: dtypes, shapes, ranges, metadata, values', () => {
    const a = Float32Array.from([1.5, -2, 3.25, 0, 7, 8])
    const b = Uint16Array.from([0x3c00, 0xc000, 0x7bff])
    const file = encodeSafetensors(
      [
        { name: 'a', dtype: 'F32', shape: [2, 3], data: a },
        { name: 'b', dtype: 'F16', shape: [3], data: b },
      ],
      { format: 'pt' },
    )
    const header = parseSafetensorsHeader(file)
    expect(header.metadata).toEqual({ format: 'pt' })
    expect(header.dataStart % 8).toBe(0)
    expect([...header.tensors.values()]).toEqual([
      {
        name: 'a',
        dtype: 'F32',
        shape: [2, 3],
        start: header.dataStart,
        end: header.dataStart + 24,
      },
      {
        name: 'b',
        dtype: 'F16',
        shape: [3],
        start: header.dataStart + 24,
        end: header.dataStart + 30,
      },
    ])
    expect(readSafetensorsTensor(header, file, 'a')).toEqual({ dtype: 'float32', data: a })
    expect(readSafetensorsTensor(header, file, 'b')).toEqual({ dtype: 'float16', data: b })
  })

  it('widens BF16 to f32 exactly, from an unaligned offset', () => {
    // 1.0, -2.5, 3.140625 in bf16; a 1-byte tensor before them leaves them unaligned.
    const file = rawFile({ pad: entry('F16', [], 0, 2), x: entry('BF16', [3], 2, 8) }, 8)
    const header = parseSafetensorsHeader(file)
    const view = new DataView(file.buffer, header.dataStart)
    for (const [i, bits] of [0x3f80, 0xc020, 0x4049].entries())
      view.setUint16(2 + 2 * i, bits, true)
    expect(readSafetensorsTensor(header, file, 'x')).toEqual({
      dtype: 'float32',
      data: Float32Array.from([1, -2.5, 3.140625]),
    })
  })

  it('accepts a header read alone, given the file length', () => {
    const file = encodeSafetensors([
      { name: 'w', dtype: 'F32', shape: [4], data: new Float32Array(4) },
    ])
    const length = safetensorsHeaderLength(file)
    expect(
      parseSafetensorsHeader(file.subarray(0, 8 + length), file.length).tensors.get('w')?.end,
    ).toBe(file.length)
  })

  it.each([
    [
      'an offset past the end',
      rawFile({ w: entry('F32', [4], 0, 16) }, 8),
      'BAD_TENSOR_RANGE',
      /w ends at byte .* past the end/,
    ],
    [
      'overlapping ranges',
      rawFile({ a: entry('F32', [2], 0, 8), b: entry('F32', [2], 4, 12) }, 12),
      'BAD_TENSOR_RANGE',
      /overlap/,
    ],
    [
      'a gap',
      rawFile({ a: entry('F32', [1], 0, 4), b: entry('F32', [1], 8, 12) }, 12),
      'BAD_TENSOR_RANGE',
      /gap/,
    ],
    [
      'trailing bytes',
      rawFile({ a: entry('F32', [1], 0, 4) }, 8),
      'BAD_TENSOR_RANGE',
      /after its last tensor/,
    ],
    [
      'a size that disagrees with the shape',
      rawFile({ w: entry('F32', [3], 0, 8) }, 8),
      'SIZE_MISMATCH',
      /w \(F32, shape \[3\]\) needs 12 bytes/,
    ],
    [
      'a shape whose size overflows',
      rawFile({ w: entry('F32', [2 ** 30, 2 ** 30, 2 ** 30], 0, 8) }, 8),
      'SIZE_MISMATCH',
      /w/,
    ],
    [
      'a duplicate name',
      rawFile(
        null,
        8,
        '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
      ),
      'DUPLICATE_TENSOR',
      /"w" twice/,
    ],
    [
      'an unknown dtype',
      rawFile({ w: entry('I64', [1], 0, 8) }, 8),
      'UNSUPPORTED_DTYPE',
      /w has dtype "I64"/,
    ],
    [
      'a prototype key as dtype',
      rawFile({ w: entry('toString', [1], 0, 8) }, 8),
      'UNSUPPORTED_DTYPE',
      /toString/,
    ],
    [
      'a negative offset',
      rawFile({ w: entry('F32', [1], -4, 0) }, 4),
      'MALFORMED_HEADER',
      /data_offsets/,
    ],
    [
      'a fractional dimension',
      rawFile({ w: entry('F32', [1.5], 0, 4) }, 4),
      'MALFORMED_HEADER',
      /shape/,
    ],
    [
      'too many dimensions',
      rawFile({ w: entry('F32', Array(9).fill(1), 0, 4) }, 4),
      'LIMIT_EXCEEDED',
      /9 dimensions/,
    ],
    ['a non-object header', rawFile([1], 0), 'MALFORMED_HEADER', /JSON object/],
    ['invalid JSON', rawFile(null, 0, '{"w":'), 'MALFORMED_HEADER', /not valid JSON/],
    [
      'non-string metadata',
      rawFile({ __metadata__: { n: 1 } }, 0),
      'MALFORMED_HEADER',
      /__metadata__.n/,
    ],
    [
      'a header longer than the file',
      rawFile({}, 0).subarray(0, 9),
      'MALFORMED_HEADER',
      /holds only/,
    ],
  ])('refuses %s', (_, file, code, message) => {
    expect(() => parseSafetensorsHeader(file)).toThrowError(
      expect.objectContaining({ code, message: expect.stringMatching(message) }),
    )
  })

  it('refuses a huge header from its 8 length bytes alone, before reading it', () => {
    const prefix = new Uint8Array(8)
    new DataView(prefix.buffer).setBigUint64(
      0,
      BigInt(SAFETENSORS_LIMITS.maxHeaderBytes) + 1n,
      true,
    )
    expect(() => parseSafetensorsHeader(prefix)).toThrowError(
      expect.objectContaining({ code: 'LIMIT_EXCEEDED' }),
    )
    new DataView(prefix.buffer).setBigUint64(0, 2n ** 64n - 1n, true)
    expect(() => safetensorsHeaderLength(prefix)).toThrowError(
      expect.objectContaining({ code: 'LIMIT_EXCEEDED' }),
    )
    expect(() => safetensorsHeaderLength(prefix.subarray(0, 7))).toThrowError(
      expect.objectContaining({ code: 'MALFORMED_HEADER' }),
    )
  })

  it('names a missing tensor on read', () => {
    const file = encodeSafetensors([
      { name: 'w', dtype: 'F32', shape: [1], data: new Float32Array(1) },
    ])
    expect(() => readSafetensorsTensor(parseSafetensorsHeader(file), file, 'v')).toThrowError(
      expect.objectContaining({ code: 'MISSING_TENSOR', message: expect.stringContaining('v') }),
    )
  })
})

describe('multi-file checkpoints', () => {
  const one = encodeSafetensors([
    { name: 'a', dtype: 'F32', shape: [1], data: new Float32Array(1) },
  ])
  const two = encodeSafetensors([{ name: 'b', dtype: 'F16', shape: [2], data: new Uint16Array(2) }])
  const headers = new Map([
    ['model-00001-of-00002.safetensors', parseSafetensorsHeader(one)],
    ['model-00002-of-00002.safetensors', parseSafetensorsHeader(two)],
  ])
  const weightMap = { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' }

  it('says which file holds which tensor', () => {
    const index = parseSafetensorsIndex({ metadata: { total_size: 8 }, weight_map: weightMap })
    expect(index.files).toEqual([
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ])
    const located = locateSafetensors(index, headers)
    expect(located.get('b')?.file).toBe('model-00002-of-00002.safetensors')
    expect(located.get('b')?.tensor.dtype).toBe('F16')
  })

  it('refuses file names outside the model directory', () => {
    for (const file of [
      '../secret.safetensors',
      '/etc/x.safetensors',
      'sub/x.safetensors',
      'x.bin',
      '.safetensors',
    ])
      expect(() => parseSafetensorsIndex({ weight_map: { a: file } })).toThrowError(
        expect.objectContaining({ code: 'MALFORMED_HEADER' }),
      )
  })

  it('refuses an index that disagrees with the files', () => {
    const swapped = parseSafetensorsIndex({ weight_map: { a: weightMap.b, b: weightMap.a } })
    expect(() => locateSafetensors(swapped, headers)).toThrowError(
      expect.objectContaining({ code: 'UNEXPECTED_TENSOR' }),
    )
    const extra = parseSafetensorsIndex({ weight_map: { ...weightMap, c: weightMap.a } })
    expect(() => locateSafetensors(extra, headers)).toThrowError(
      expect.objectContaining({ code: 'MISSING_TENSOR', message: expect.stringContaining('c') }),
    )
    const twice = new Map(headers).set(
      'model-00002-of-00002.safetensors',
      parseSafetensorsHeader(one),
    )
    expect(() =>
      locateSafetensors(parseSafetensorsIndex({ weight_map: weightMap }), twice),
    ).toThrowError(expect.objectContaining({ code: 'DUPLICATE_TENSOR' }))
  })
})
