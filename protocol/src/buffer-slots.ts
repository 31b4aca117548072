import { type TensorDtype, tensorByteLength } from './dtypes.ts'
import type { BufferSlot } from './messages.ts'
import { ProtocolError } from './protocol-error.ts'

/** One buffer of a custom kernel as raw bytes, with the dtype and shape they hold. */
export interface BufferTensor {
  name: string
  dtype: TensorDtype
  shape: number[]
  bytes: Uint8Array
}

/** Lays buffers out back to back, each at a 4-byte-aligned offset, and returns their slots. */
export function packBuffers(buffers: readonly BufferTensor[]): {
  slots: BufferSlot[]
  payload: Uint8Array
} {
  const offsets: number[] = []
  let total = 0
  for (const b of buffers) {
    offsets.push(total)
    total += Math.ceil(b.bytes.byteLength / 4) * 4
  }
  const payload = new Uint8Array(total)
  const slots = buffers.map((b, i) => {
    payload.set(b.bytes, offsets[i]!)
    return {
      name: b.name,
      dtype: b.dtype,
      shape: b.shape,
      byteOffset: offsets[i]!,
      byteLength: b.bytes.byteLength,
    }
  })
  return { slots, payload }
}

/**
 * Checks a slot against its payload (its size matches shape and dtype, it lies inside the
 * payload) and returns its bytes, copied to an aligned buffer of their own.
 */
export function readBuffer(payload: Uint8Array, slot: BufferSlot): Uint8Array {
  const expected = tensorByteLength(slot.shape, slot.dtype)
  if (slot.byteLength !== expected) {
    throw new ProtocolError(
      'PAYLOAD_MISMATCH',
      `buffer ${slot.name}: ${slot.dtype}[${slot.shape.join(', ')}] needs ${expected} bytes, slot says ${slot.byteLength}`,
    )
  }
  if (slot.byteOffset + slot.byteLength > payload.byteLength) {
    throw new ProtocolError(
      'PAYLOAD_MISMATCH',
      `buffer ${slot.name} ends at byte ${slot.byteOffset + slot.byteLength}, payload has ${payload.byteLength}`,
    )
  }
  // A copy into a fresh, aligned buffer. Not `payload.slice`: on a Node Buffer (what a
  // libp2p stream yields in Node) that is a view into a shared pool at any offset.
  return new Uint8Array(payload.subarray(slot.byteOffset, slot.byteOffset + slot.byteLength))
}
