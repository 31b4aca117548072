import type { TensorDtype } from '@tabswarm/protocol'

/** Bytes per element of each tensor dtype (`float16` travels as its 16-bit patterns). */
export const BYTES_PER_ELEMENT: Record<TensorDtype, number> = {
  float32: 4,
  float16: 2,
  int32: 4,
  uint32: 4,
}

/** Elements of a tensor of this shape. */
export function elementCount(shape: readonly number[]): number {
  let count = 1
  for (const d of shape) count *= d
  return count
}

/** Bytes of a tensor of this shape and dtype. */
export function tensorByteLength(shape: readonly number[], dtype: TensorDtype): number {
  return elementCount(shape) * BYTES_PER_ELEMENT[dtype]
}

/**
 * The bytes at an offset that typed arrays of `alignment`-byte elements can view: the same
 * bytes when they already are (no copy), else an aligned copy. Wire payloads and Node
 * Buffers often start at odd offsets inside a larger buffer.
 */
export function alignedBytes(bytes: Uint8Array, alignment: number): Uint8Array {
  return bytes.byteOffset % alignment === 0 ? bytes : new Uint8Array(bytes)
}

/** The bytes read as float32, copied only when they are misaligned. */
export function float32View(bytes: Uint8Array): Float32Array {
  const aligned = alignedBytes(bytes, 4)
  return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >> 2)
}

/** A typed array's bytes, as a view (no copy). */
export function tensorBytes(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}
