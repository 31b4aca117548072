import { type NdArray, NpyError, npyHeaderBytes, parseNpy } from '@tabswarm/protocol'
import { MAX_NPY_FILE_BYTES } from './timeouts.ts'

/** A `.npy` file the page read, with what it had to do to it. */
export interface ReadNpy {
  name: string
  array: NdArray
  /** Set when a float64 file was cast to float32: what precision was lost, in words. */
  castWarning?: string
}

/** A file the page cannot use, naming the file and the fix. */
export class NpyFileError extends Error {
  override name = 'NpyFileError'
}

/**
 * Reads a `.npy` file chosen in the page. numpy saves float64 by default, which Tabswarm's
 * kernels do not take: with `castFloat64` such a file is converted to float32 (with a
 * warning about precision), without it the error names the file and both fixes.
 */
export async function readNpyFile(
  file: File,
  { castFloat64 }: { castFloat64: boolean },
): Promise<ReadNpy> {
  if (file.size > MAX_NPY_FILE_BYTES)
    throw new NpyFileError(
      `${file.name} is ${file.size} bytes; this page reads .npy files up to ${MAX_NPY_FILE_BYTES} bytes: use the tabswarm CLI for larger ones`,
    )
  const bytes = new Uint8Array(await file.arrayBuffer())
  try {
    return { name: file.name, array: parseNpy(bytes) }
  } catch (err) {
    if (!(err instanceof NpyError)) throw err
    const float64 = float64Header(bytes)
    if (float64 == null) throw new NpyFileError(`${file.name}: ${err.message}`)
    if (!castFloat64)
      throw new NpyFileError(
        `${file.name} holds float64 numbers; Tabswarm computes in float32. Tick "convert float64 to float32", or save it with a.astype('float32')`,
      )
    return {
      name: file.name,
      array: castToFloat32(bytes, float64),
      castWarning: `${file.name} was converted from float64 to float32: about 7 significant digits are kept, values beyond ±3.4e38 become infinite`,
    }
  }
}

/** The shape and data offset of a little-endian, C-order float64 `.npy`, else undefined. */
function float64Header(bytes: Uint8Array): { shape: number[]; dataOffset: number } | undefined {
  let dataOffset: number
  try {
    dataOffset = npyHeaderBytes(bytes)
  } catch {
    return undefined
  }
  const header = new TextDecoder('latin1').decode(bytes.subarray(0, Math.min(dataOffset, 4096)))
  if (!/'descr'\s*:\s*'<f8'/.test(header) || !/'fortran_order'\s*:\s*False/.test(header))
    return undefined
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1]
  if (shapeText == null) return undefined
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number)
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) return undefined
  const elements = shape.reduce((p, d) => p * d, 1)
  if (bytes.byteLength - dataOffset !== elements * 8) return undefined
  return { shape, dataOffset }
}

function castToFloat32(
  bytes: Uint8Array,
  { shape, dataOffset }: { shape: number[]; dataOffset: number },
): NdArray<'float32'> {
  // A copy, so the float64 view is aligned whatever the header's length.
  const wide = new Float64Array(new Uint8Array(bytes.subarray(dataOffset)).buffer)
  return { dtype: 'float32', shape, data: Float32Array.from(wide) }
}
