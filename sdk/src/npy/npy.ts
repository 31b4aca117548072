import { TabswarmError } from '@tabswarm/worker-kernels'

/** dtypes that travel through Tabswarm, by their numpy names (WGSL's f32, f16, i32, u32). */
export type NpyDtype = 'float32' | 'float16' | 'int32' | 'uint32'

/** The typed array that holds each dtype; float16 is kept as its raw bits. */
export type NpyData<D extends NpyDtype = NpyDtype> = D extends 'float32'
  ? Float32Array
  : D extends 'int32'
    ? Int32Array
    : D extends 'uint32'
      ? Uint32Array
      : Uint16Array

/** An n-dimensional array in C (row-major) order, as numpy's `.npy` holds it. float16 is kept as raw bits. */
export interface NdArray<D extends NpyDtype = NpyDtype> {
  dtype: D
  shape: number[]
  data: NpyData<D>
}

export class NpyError extends TabswarmError {
  override name = 'NpyError' as const
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] // \x93NUMPY
const DESCR: Record<string, NpyDtype> = {
  '<f4': 'float32',
  '<f2': 'float16',
  '<i4': 'int32',
  '<u4': 'uint32',
}
const DESCR_OF: Record<NpyDtype, string> = {
  float32: '<f4',
  float16: '<f2',
  int32: '<i4',
  uint32: '<u4',
}
const ITEM_SIZE: Record<NpyDtype, number> = { float32: 4, float16: 2, int32: 4, uint32: 4 }

function fail(message: string, code = 'MALFORMED_NPY'): never {
  throw new NpyError(message, { code })
}

/**
 * Parses a `.npy` file (format versions 1-3). Accepts little-endian float32, float16 and
 * int32 in C order; anything else is refused with an error that names what was found.
 */
export function parseNpy(bytes: Uint8Array): NdArray {
  if (bytes.byteLength < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    fail('not a .npy file (bad magic string)')
  const major = bytes[6]!
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let headerLength: number
  let headerStart: number
  if (major === 1) {
    headerLength = view.getUint16(8, true)
    headerStart = 10
  } else if (major === 2 || major === 3) {
    if (bytes.byteLength < 12) fail('truncated .npy header')
    headerLength = view.getUint32(8, true)
    headerStart = 12
  } else {
    fail(`unsupported .npy format version ${major}`)
  }
  const dataStart = headerStart + headerLength
  if (dataStart > bytes.byteLength) fail('truncated .npy header')
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, dataStart),
  )

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1]
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1]
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1]
  if (descr == null || fortran == null || shapeText == null)
    fail('.npy header lacks descr, fortran_order or shape')
  const dtype = DESCR[descr]
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

  const count = shape.reduce((a, b) => a * b, 1)
  const byteLength = count * ITEM_SIZE[dtype]
  if (bytes.byteLength - dataStart !== byteLength) {
    fail(
      `.npy shape (${shape.join(', ')}) needs ${byteLength} data bytes, file has ${bytes.byteLength - dataStart}`,
    )
  }
  // Copy into a fresh buffer: aligned for the typed array, and detached from the caller's bytes.
  // (Not `bytes.slice`: on a Node Buffer that is a view into a shared pool.)
  const raw = new Uint8Array(bytes.subarray(dataStart)).buffer
  return { dtype, shape, data: typedArrayOf(dtype, raw) } as NdArray
}

/** Views `buffer` as the typed array that holds `dtype`. */
export function typedArrayOf<D extends NpyDtype>(dtype: D, buffer: ArrayBuffer): NpyData<D> {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer) as NpyData<D>
    case 'int32':
      return new Int32Array(buffer) as NpyData<D>
    case 'uint32':
      return new Uint32Array(buffer) as NpyData<D>
    default:
      return new Uint16Array(buffer) as NpyData<D>
  }
}

/** Bytes per element of `dtype`. */
export function itemSize(dtype: NpyDtype): number {
  return ITEM_SIZE[dtype]
}

/** Writes a `.npy` file (format 1.0, or 2.0 when the header needs it), readable by `np.load`. */
export function encodeNpy(array: NdArray): Uint8Array {
  if (DESCR_OF[array.dtype] == null)
    fail(
      `cannot write dtype '${array.dtype}': use float32, float16, int32 or uint32`,
      'UNSUPPORTED_DTYPE',
    )
  const count = array.shape.reduce((a, b) => a * b, 1)
  if (count !== array.data.length) {
    fail(
      `shape (${array.shape.join(', ')}) has ${count} elements, data has ${array.data.length}`,
      'SHAPE_MISMATCH',
    )
  }
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`
  const dict = `{'descr': '${DESCR_OF[array.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`
  const v1 = dict.length + 1 + 10 <= 0xffff + 10
  const prefix = v1 ? 10 : 12
  // numpy pads the header with spaces so the data starts on a 64-byte boundary.
  const padded = Math.ceil((prefix + dict.length + 1) / 64) * 64
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
