import { type InputRef, sha256Hex } from '@tabswarm/protocol'
import { InputFetchError } from './input-fetch-error.ts'

/**
 * Checks that `bytes` are exactly what `ref` names: `ref.byteLength` long and hashing to
 * `ref.sha256`. Throws {@link InputFetchError} (`INPUT_MISMATCH`) naming the input and
 * `from` (the source) otherwise. Every input passes here before a kernel sees it, whatever
 * its source: a source that lies costs a fallback or a task error, never a wrong input.
 *
 * @example
 * await checkInput(ref, bytes, 'peer 12D3KooW…')
 */
export async function checkInput(ref: InputRef, bytes: Uint8Array, from: string): Promise<void> {
  if (bytes.byteLength !== ref.byteLength) {
    throw new InputFetchError(
      'INPUT_MISMATCH',
      `input ${ref.name} (${ref.sha256}) from ${from} is ${bytes.byteLength} bytes, the lease says ${ref.byteLength}`,
    )
  }
  const actual = await sha256Hex(bytes)
  if (actual !== ref.sha256) {
    throw new InputFetchError(
      'INPUT_MISMATCH',
      `input ${ref.name} from ${from} hashes to ${actual}, the lease names ${ref.sha256}`,
    )
  }
}
