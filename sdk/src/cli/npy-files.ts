import { open, readFile } from 'node:fs/promises'
import {
  castFloat64Npy,
  checkNpyDataSize,
  type NdArray,
  NPY_PREFIX_BYTES,
  type NpyHeader,
  npyHeaderBytes,
  parseFloat64NpyHeader,
  parseNpy,
  parseNpyHeader,
} from '@tabswarm/protocol'
import { float64Refusal, type NpyCast } from './npy-float64.ts'
import { UsageError } from './usage-error.ts'

/**
 * `.npy` files as command inputs: every problem (missing, unreadable, malformed, an
 * unsupported dtype) is a `UsageError` whose message names the file and, when given, the
 * argument it was passed as. float64 files are refused with the fix, or read as float32
 * with `cast: 'float32'` (the protocol's `castFloat64Npy`); `onCast` is told each file cast.
 */

/** How a command reads its `.npy` inputs. */
export interface NpyReadOptions {
  /** `--cast float32`: read float64 files as float32. */
  cast?: NpyCast | undefined
  /** Called for each float64 file read as float32 (to warn once). */
  onCast?: ((path: string) => void) | undefined
}

function unreadable(path: string, label: string | undefined, err: unknown): UsageError {
  const code = (err as NodeJS.ErrnoException).code
  const where = label ? `${label}: ` : ''
  return new UsageError(
    code === 'ENOENT' ? `${where}no such file ${path}` : `${where}cannot read ${path} (${code})`,
  )
}

/** Reads and parses a whole `.npy` file. */
export async function readNpyFile(
  path: string,
  label?: string,
  { cast, onCast }: NpyReadOptions = {},
): Promise<NdArray> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw unreadable(path, label, err)
  }
  try {
    const float64 = parseFloat64NpyHeader(bytes)
    if (float64 == null) return parseNpy(bytes)
    if (cast !== 'float32') throw new Error(float64Refusal())
    const array = castFloat64Npy(bytes, float64)
    onCast?.(path)
    return array
  } catch (err) {
    throw new UsageError(`${label ? `${label}: ` : ''}${path}: ${(err as Error).message}`)
  }
}

/**
 * Reads only the header of a `.npy` file, and checks the file holds exactly the data it
 * declares: a cheap check of every input before anything is uploaded.
 */
export async function readNpyFileHeader(
  path: string,
  label?: string,
  { cast }: Pick<NpyReadOptions, 'cast'> = {},
): Promise<NpyHeader> {
  let file: Awaited<ReturnType<typeof open>>
  try {
    file = await open(path, 'r')
  } catch (err) {
    throw unreadable(path, label, err)
  }
  try {
    const read = async (length: number) => {
      const buffer = new Uint8Array(length)
      const { bytesRead } = await file.read(buffer, 0, length, 0)
      return buffer.subarray(0, bytesRead)
    }
    const { size } = await file.stat()
    try {
      const bytes = await read(Math.min(size, npyHeaderBytes(await read(NPY_PREFIX_BYTES))))
      const float64 = parseFloat64NpyHeader(bytes)
      if (float64 != null) {
        if (cast !== 'float32') throw new Error(float64Refusal())
        // The float32 it will become; the file must hold the float64 it declares.
        checkNpyDataSize({ ...float64.header, dataBytes: float64.float64Bytes }, size)
        return float64.header
      }
      const header = parseNpyHeader(bytes)
      checkNpyDataSize(header, size)
      return header
    } catch (err) {
      throw new UsageError(`${label ? `${label}: ` : ''}${path}: ${(err as Error).message}`)
    }
  } catch (err) {
    if (err instanceof UsageError) throw err
    throw unreadable(path, label, err)
  } finally {
    await file.close()
  }
}
