import {
  type NdArray,
  NpyError,
  type NpyHeader,
  npyHeaderBytes,
  parseNpyHeader,
} from '@tabswarm/protocol'

/**
 * float64 `.npy` files, numpy's default dtype, which the swarm does not compute in (WGSL has
 * no f64). Without `--cast float32` they are refused with the fix; with it they are read as
 * float32, which keeps about 7 significant digits, and a finite value beyond float32's range
 * (±3.4e38) is refused rather than silently becoming ±inf.
 */

/** What `--cast` accepts. */
export type NpyCast = 'float32'

/** float32's largest finite value; a float64 past it (after rounding) becomes ±inf. */
const FLOAT32_MAX = 3.4028234663852886e38

/** The descr numpy writes for little-endian float64. */
const FLOAT64_DESCR = '<f8'

/**
 * The header of a float64 `.npy` file as if it held float32 (the same shape, order checks,
 * `dataBytes` of the float32 it will become), and `float64Bytes`, the data it really holds;
 * undefined when the file is not float64. `bytes` holds at least the header.
 */
export function float64Header(
  bytes: Uint8Array,
): { header: NpyHeader; float64Bytes: number } | undefined {
  const end = npyHeaderBytes(bytes)
  if (end > bytes.byteLength) return undefined
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, end))
  const match = /'descr'\s*:\s*'<f8'/.exec(text)
  if (match == null) return undefined
  // '<f8' and '<f4' are the same length: the rewritten header parses with every other check.
  const at = match.index + match[0].lastIndexOf(FLOAT64_DESCR)
  const asFloat32 = new Uint8Array(bytes.subarray(0, end))
  asFloat32.set(new TextEncoder().encode('<f4'), at)
  const header = parseNpyHeader(asFloat32)
  return { header, float64Bytes: header.dataBytes * 2 }
}

/** The message for a float64 input without `--cast`: what it is and both fixes. */
export function float64Refusal(): string {
  return `unsupported dtype '<f8' (float64, numpy's default); Tabswarm computes in float32: save it with np.save(path, a.astype('float32')), or pass --cast float32`
}

/** `(3, 7)` for flat index 31 of shape (5, 8): numpy's index of an element. */
function indexOf(flat: number, shape: number[]): string {
  const index: number[] = []
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const size = shape[axis]!
    index.unshift(size > 0 ? flat % size : 0)
    flat = size > 0 ? Math.floor(flat / size) : 0
  }
  return `(${index.join(', ')}${index.length === 1 ? ',' : ''})`
}

/**
 * The float64 data of a `.npy` file (its `header` from {@link float64Header}) as float32.
 * Throws an `NpyError` naming the first element whose finite value float32 cannot hold.
 */
export function castFloat64ToFloat32(bytes: Uint8Array, header: NpyHeader): NdArray<'float32'> {
  const count = header.dataBytes / 4
  // Copied: the file's bytes need not be 8-byte aligned.
  const source = new Float64Array(
    new Uint8Array(bytes.subarray(header.dataOffset, header.dataOffset + count * 8)).buffer,
  )
  const data = new Float32Array(count)
  for (let i = 0; i < count; i++) {
    const value = source[i]!
    const cast = Math.fround(value)
    if (!Number.isFinite(cast) && Number.isFinite(value))
      throw new NpyError(
        `element ${indexOf(i, header.shape)} is ${value}, beyond float32's range (±${FLOAT32_MAX.toPrecision(3)}): it would become ${cast}; scale the data first`,
        { code: 'UNSUPPORTED_DTYPE' },
      )
    data[i] = cast
  }
  return { dtype: 'float32', shape: header.shape, data }
}

/** The warning for float64 inputs read as float32: the precision lost is the researcher's to judge. */
export function castWarning(paths: string[]): string {
  return `tabswarm: warning: ${paths.join(', ')} read as float32 (--cast float32): float32 keeps about 7 significant digits, so results can differ from numpy's float64 beyond that\n`
}

/**
 * An `onCast` that warns on `stream` once, at the first float64 input cast (of many, read
 * concurrently: `tabswarm run`), naming it.
 */
export function warnOnceOnCast(stream: NodeJS.WritableStream): (path: string) => void {
  let warned = false
  return (path) => {
    if (warned) return
    warned = true
    stream.write(castWarning([`${path} and any other float64 input`]))
  }
}
