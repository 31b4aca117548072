/**
 * The one numpy `.npy` codec: the SDK reads and writes tensors with it, the CLI reads its
 * input files, and the relay writes `GET /v1/jobs/:id/output?format=npy`.
 */
import {
  elementCount,
  isTensorDtype,
  type TensorData,
  type TensorDtype,
  tensorByteLength,
  viewAs,
} from '../dtypes.ts'
import type { NpyErrorCode } from '../error-codes.ts'
import { descrOf, dtypeOfDescr } from './npy-descr.ts'
import { NpyError } from './npy-error.ts'

/** An n-dimensional array in C (row-major) order, as numpy's `.npy` holds it. float16 is kept as raw bits. */
export interface NdArray<D extends TensorDtype = TensorDtype> {
  dtype: D
  shape: number[]
  data: TensorData<D>
}

/** What a `.npy` header says, before any data is read. */
export interface NpyHeader {
  dtype: TensorDtype
  shape: number[]
  /** Where the data starts in the file (the header's length). */
  dataOffset: number
  /** How many data bytes the shape and dtype need after `dataOffset`. */
  dataBytes: number
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] // \x93NUMPY
/** Bytes before the header dictionary in the largest prefix (format 2 and 3). */
export const NPY_PREFIX_BYTES = 12

function fail(message: string, code: NpyErrorCode = 'MALFORMED_NPY'): never {
  throw new NpyError(message, { code })
}

/**
 * How many bytes the header of a `.npy` file takes (where its data starts), from at least
 * its first `NPY_PREFIX_BYTES`: lets a reader fetch the header alone.
 *
 * @example
 * const prefix = await readFirstBytes(path, NPY_PREFIX_BYTES)
 * const header = parseNpyHeader(await readFirstBytes(path, npyHeaderBytes(prefix)))
 */
export function npyHeaderBytes(prefix: Uint8Array): number {
  if (prefix.byteLength < 10 || MAGIC.some((b, i) => prefix[i] !== b))
    fail('not a .npy file (bad magic string)')
  const major = prefix[6]!
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength)
  if (major === 1) return 10 + view.getUint16(8, true)
  if (major === 2 || major === 3) {
    if (prefix.byteLength < 12) fail('truncated .npy header')
    return 12 + view.getUint32(8, true)
  }
  return fail(`unsupported .npy format version ${major}`)
}

/**
 * Parses the header of a `.npy` file (format versions 1-3); `bytes` holds at least the
 * header (see `npyHeaderBytes`). Accepts little-endian float32, float16, int32 and uint32
 * in C order; anything else is refused with an `NpyError` that names what was found.
 *
 * @example
 * const { dtype, shape, dataBytes } = parseNpyHeader(bytes) // 'float32', [3, 4], 48
 */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  const dataOffset = npyHeaderBytes(bytes)
  const headerStart = bytes[6] === 1 ? 10 : 12
  if (dataOffset > bytes.byteLength) fail('truncated .npy header')
  const header = new TextDecoder(bytes[6] === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, dataOffset),
  )
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1]
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1]
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1]
  if (descr == null || fortran == null || shapeText == null)
    fail('.npy header lacks descr, fortran_order or shape')
  const dtype = dtypeOfDescr(descr)
  if (dtype == null) {
    fail(
      `unsupported dtype '${descr}': Tabswarm reads float32 (<f4), float16 (<f2), int32 (<i4) and uint32 (<u4)`,
      'UNSUPPORTED_DTYPE',
    )
  }
  if (fortran === 'True')
    fail(
      'Fortran-order arrays are not supported; save with np.ascontiguousarray',
      'UNSUPPORTED_ORDER',
    )
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const dim = Number(s.replace(/L$/, ''))
      if (!Number.isSafeInteger(dim) || dim < 0) fail(`bad dimension '${s}' in .npy shape`)
      return dim
    })
  return { dtype, shape, dataOffset, dataBytes: tensorByteLength(shape, dtype) }
}

/**
 * Refuses a `.npy` file of `fileBytes` bytes that does not hold exactly the data its header
 * declares (a truncated download, bytes appended), with an `NpyError` giving both sizes.
 */
export function checkNpyDataSize(header: NpyHeader, fileBytes: number): void {
  const found = fileBytes - header.dataOffset
  if (found !== header.dataBytes)
    fail(
      `.npy shape (${header.shape.join(', ')}) needs ${header.dataBytes} data bytes, file has ${found}`,
    )
}

/**
 * Parses a `.npy` file (format versions 1-3). Accepts little-endian float32 (`<f4`),
 * float16 (`<f2`, kept as raw bits in a `Uint16Array`), int32 (`<i4`) and uint32 (`<u4`)
 * in C order; anything else (float64, big-endian, Fortran order, a truncated file) is
 * refused with an `NpyError` that names what was found.
 *
 * @example
 * import { readFile } from 'node:fs/promises'
 * const a = parseNpy(await readFile('a.npy')) // { dtype: 'float32', shape: [3, 4], data: Float32Array(12) }
 */
export function parseNpy(bytes: Uint8Array): NdArray {
  const header = parseNpyHeader(bytes)
  checkNpyDataSize(header, bytes.byteLength)
  const { dtype, shape, dataOffset } = header
  // Copy into a fresh buffer: aligned for the typed array, and detached from the caller's bytes.
  // (Not `bytes.slice`: on a Node Buffer that is a view into a shared pool.)
  const raw = new Uint8Array(bytes.subarray(dataOffset)).buffer
  return { dtype, shape, data: viewAs(dtype, raw) } as NdArray
}

/**
 * Writes a `.npy` file (format 1.0, or 2.0 when the header needs it), readable by
 * `np.load`. Takes float32, float16 (raw bits), int32 and uint32 arrays in C order.
 *
 * @example
 * import { writeFile } from 'node:fs/promises'
 * await writeFile('c.npy', encodeNpy({ dtype: 'float32', shape: [2, 2], data: new Float32Array(4) }))
 */
export function encodeNpy(array: NdArray): Uint8Array {
  if (!isTensorDtype(array.dtype))
    fail(
      `cannot write dtype '${array.dtype}': use float32, float16, int32 or uint32`,
      'UNSUPPORTED_DTYPE',
    )
  const count = elementCount(array.shape)
  if (count !== array.data.length) {
    fail(
      `shape (${array.shape.join(', ')}) has ${count} elements, data has ${array.data.length}`,
      'SHAPE_MISMATCH',
    )
  }
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`
  const dict = `{'descr': '${descrOf(array.dtype)}', 'fortran_order': False, 'shape': ${shape}, }`
  // numpy pads the header with spaces (and a newline) so the data starts on a 64-byte
  // boundary; format 1.0 holds the padded header's length in 16 bits.
  const paddedFor = (prefix: number) => Math.ceil((prefix + dict.length + 1) / 64) * 64
  const v1 = paddedFor(10) - 10 <= 0xffff
  const prefix = v1 ? 10 : 12
  const padded = paddedFor(prefix)
  const header = `${dict}${' '.repeat(padded - prefix - dict.length - 1)}\n`
  const data = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength)
  const out = new Uint8Array(padded + data.byteLength)
  out.set(MAGIC)
  out[6] = v1 ? 1 : 2
  out[7] = 0
  const view = new DataView(out.buffer)
  if (v1) view.setUint16(8, header.length, true)
  else view.setUint32(8, header.length, true)
  out.set(new TextEncoder().encode(header), prefix)
  out.set(data, padded)
  return out
}
