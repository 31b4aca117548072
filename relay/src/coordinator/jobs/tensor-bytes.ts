/** Byte views of tensors on the relay (dtype sizes and byte lengths: `@tabswarm/protocol`'s dtypes). */

/**
 * The bytes at an offset that typed arrays of `alignment`-byte elements can view: the same
 * bytes when they already are (no copy), else an aligned copy. Wire payloads and Node
 * Buffers often start at odd offsets inside a larger buffer.
 */
export function alignedBytes(bytes: Uint8Array, alignment: number): Uint8Array {
  return bytes.byteOffset % alignment === 0 ? bytes : new Uint8Array(bytes)
}

/** A typed array's bytes, as a view (no copy). */
export function tensorBytes(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}
