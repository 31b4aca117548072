import { MAX_WGSL_CHARS } from './job-spec.ts'
import { ProtocolError } from './protocol-error.ts'

/**
 * A custom lease's WGSL travels as UTF-8 bytes at the end of its payload, not in the JSON
 * header: escaped in JSON, a source at `MAX_WGSL_CHARS` could be several times its length
 * and overflow `MAX_HEADER_BYTES`, so a job the API accepted could never be leased.
 */

/** Most UTF-8 bytes of a source of `MAX_WGSL_CHARS` UTF-16 units (3 bytes per unit at worst). */
export const MAX_WGSL_BYTES = MAX_WGSL_CHARS * 3

/** Where a lease's program source lies in its payload. */
export interface SourceSlot {
  byteOffset: number
  byteLength: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Appends `wgsl` to `payload`, returning the joined payload and where the source lies in it. */
export function appendProgramSource(
  payload: Uint8Array,
  wgsl: string,
): { payload: Uint8Array; source: SourceSlot } {
  const bytes = encoder.encode(wgsl)
  const joined = new Uint8Array(payload.byteLength + bytes.byteLength)
  joined.set(payload)
  joined.set(bytes, payload.byteLength)
  return {
    payload: joined,
    source: { byteOffset: payload.byteLength, byteLength: bytes.byteLength },
  }
}

/** Reads a program source from its slot. Throws `ProtocolError` when it is out of bounds or not UTF-8. */
export function readProgramSource(payload: Uint8Array, slot: SourceSlot): string {
  const end = slot.byteOffset + slot.byteLength
  if (end > payload.byteLength)
    throw new ProtocolError(
      'PAYLOAD_MISMATCH',
      `the program source ends at byte ${end}, the payload has ${payload.byteLength}`,
    )
  try {
    return decoder.decode(payload.subarray(slot.byteOffset, end))
  } catch (err) {
    throw new ProtocolError('PAYLOAD_MISMATCH', 'the program source is not valid UTF-8', {
      cause: err,
    })
  }
}
