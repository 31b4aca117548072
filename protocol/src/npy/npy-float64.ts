/**
 * float64 `.npy` files, numpy's default dtype, which the swarm does not compute in (WGSL has
 * no f64). `parseNpy` refuses them; a reader that offers the researcher a cast (the CLI's
 * `--cast float32`, the dashboard's checkbox) recognises them with `parseFloat64NpyHeader`
 * and reads them as float32 with `castFloat64Npy`. float32 keeps about 7 significant
 * digits, and a finite value beyond its range (±3.4e38) is refused, naming the element,
 * rather than silently becoming ±inf. How to ask for the cast is the caller's to say.
 */
import type { NdArray, NpyHeader } from './npy.ts'
import { checkNpyDataSize, npyHeaderBytes, parseNpyHeader } from './npy.ts'
import { NpyError } from './npy-error.ts'

/** The header of a float64 `.npy` file: the float32 array it becomes, and the data it holds. */
export interface Float64NpyHeader {
  /**
   * The header as if the file held float32: the same shape and checks (C order), with the
   * `dataBytes` of the float32 array the cast makes.
   */
  header: NpyHeader
  /** How many float64 data bytes the file declares after `header.dataOffset`. */
  float64Bytes: number
}

/** float32's largest finite value; a float64 past it (after rounding) becomes ±inf. */
const FLOAT32_MAX = 3.4028234663852886e38

/** The descr numpy writes for little-endian float64. */
const FLOAT64_DESCR = '<f8'

/**
 * The header of a float64 (`<f8`) `.npy` file, or undefined when the file holds another
 * dtype (left to `parseNpyHeader`). `bytes` holds at least the header (see
 * `npyHeaderBytes`). Throws an `NpyError` for what no cast fixes: Fortran order, a bad
 * shape, a truncated header.
 *
 * @example
 * const float64 = parseFloat64NpyHeader(bytes)
 * const array = float64 == null ? parseNpy(bytes) : castFloat64Npy(bytes, float64)
 */
export function parseFloat64NpyHeader(bytes: Uint8Array): Float64NpyHeader | undefined {
  const end = npyHeaderBytes(bytes)
  if (end > bytes.byteLength) throw new NpyError('truncated .npy header', { code: 'MALFORMED_NPY' })
  // latin1 decodes one character per byte, so an index in the text is one in `bytes`.
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, end))
  // The same pattern as parseNpyHeader's, so both read the same descr.
  const match = /'descr'\s*:\s*'([^']*)'/.exec(text)
  if (match?.[1] !== FLOAT64_DESCR) return undefined
  // '<f8' and '<f4' are the same length: the rewritten header parses with every other check.
  const at = match.index + match[0].lastIndexOf(FLOAT64_DESCR)
  const asFloat32 = new Uint8Array(bytes.subarray(0, end))
  asFloat32.set(new TextEncoder().encode('<f4'), at)
  const header = parseNpyHeader(asFloat32)
  return { header, float64Bytes: header.dataBytes * 2 }
}

/** `(3, 7)` for flat index 31 of shape (5, 8): numpy's index of an element. */
function numpyIndex(flat: number, shape: readonly number[]): string {
  const index: number[] = []
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const size = shape[axis]!
    index.unshift(size > 0 ? flat % size : 0)
    flat = size > 0 ? Math.floor(flat / size) : 0
  }
  return `(${index.join(', ')}${index.length === 1 ? ',' : ''})`
}

/**
 * The float64 `.npy` file `bytes` (its header from `parseFloat64NpyHeader`) as a float32
 * array of the same shape. Throws an `NpyError` when the file does not hold exactly the
 * data its header declares, or naming (by numpy's index) the first element whose finite
 * value float32 cannot hold.
 *
 * @example
 * castFloat64Npy(bytes, parseFloat64NpyHeader(bytes)!) // { dtype: 'float32', shape: [3, 4], data: Float32Array(12) }
 */
export function castFloat64Npy(
  bytes: Uint8Array,
  { header, float64Bytes }: Float64NpyHeader,
): NdArray<'float32'> {
  checkNpyDataSize({ ...header, dataBytes: float64Bytes }, bytes.byteLength)
  const count = float64Bytes / 8
  // Copied: the data need not start on an 8-byte boundary of the file's buffer.
  const source = new Float64Array(
    new Uint8Array(bytes.subarray(header.dataOffset, header.dataOffset + float64Bytes)).buffer,
  )
  const data = new Float32Array(count)
  for (let i = 0; i < count; i++) {
    const value = source[i]!
    const cast = Math.fround(value)
    if (!Number.isFinite(cast) && Number.isFinite(value))
      throw new NpyError(
        `element ${numpyIndex(i, header.shape)} is ${value}, beyond float32's range (±${FLOAT32_MAX.toPrecision(3)}): it would become ${cast}; scale the data first`,
        { code: 'UNSUPPORTED_DTYPE' },
      )
    data[i] = cast
  }
  return { dtype: 'float32', shape: [...header.shape], data }
}
