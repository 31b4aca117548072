import {
  castFloat64Npy,
  type NdArray,
  NpyError,
  parseFloat64NpyHeader,
  parseNpy,
} from '@tabswarm/protocol'
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
 * kernels do not take: with `castFloat64` such a file is converted to float32 by the
 * protocol's `castFloat64Npy` (with a warning about precision; a value float32 cannot hold
 * is refused, naming it), without it the error names the file and both fixes.
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
    const float64 = parseFloat64NpyHeader(bytes)
    if (float64 == null) return { name: file.name, array: parseNpy(bytes) }
    if (!castFloat64)
      throw new NpyFileError(
        `${file.name} holds float64 numbers; Tabswarm computes in float32. Tick "convert float64 to float32", or save it with a.astype('float32')`,
      )
    return {
      name: file.name,
      array: castFloat64Npy(bytes, float64),
      castWarning: `${file.name} was converted from float64 to float32: about 7 significant digits are kept`,
    }
  } catch (err) {
    if (!(err instanceof NpyError)) throw err
    throw new NpyFileError(`${file.name}: ${err.message}`)
  }
}
