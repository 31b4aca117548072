import { open, readFile } from 'node:fs/promises'
import {
  checkNpyDataSize,
  type NdArray,
  NPY_PREFIX_BYTES,
  type NpyHeader,
  npyHeaderBytes,
  parseNpy,
  parseNpyHeader,
} from '@tabswarm/protocol'
import { UsageError } from './usage-error.ts'

/**
 * `.npy` files as command inputs: every problem (missing, unreadable, malformed, an
 * unsupported dtype) is a `UsageError` whose message names the file and, when given, the
 * argument it was passed as.
 */

function unreadable(path: string, label: string | undefined, err: unknown): UsageError {
  const code = (err as NodeJS.ErrnoException).code
  const where = label ? `${label}: ` : ''
  return new UsageError(
    code === 'ENOENT' ? `${where}no such file ${path}` : `${where}cannot read ${path} (${code})`,
  )
}

/** Reads and parses a whole `.npy` file. */
export async function readNpyFile(path: string, label?: string): Promise<NdArray> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw unreadable(path, label, err)
  }
  try {
    return parseNpy(bytes)
  } catch (err) {
    throw new UsageError(`${label ? `${label}: ` : ''}${path}: ${(err as Error).message}`)
  }
}

/**
 * Reads only the header of a `.npy` file, and checks the file holds exactly the data it
 * declares: a cheap check of every input before anything is uploaded.
 */
export async function readNpyFileHeader(path: string, label?: string): Promise<NpyHeader> {
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
      const header = parseNpyHeader(
        await read(Math.min(size, npyHeaderBytes(await read(NPY_PREFIX_BYTES)))),
      )
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
