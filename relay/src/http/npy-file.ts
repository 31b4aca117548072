/**
 * A float32 C-order matrix as a numpy `.npy` file (format 1.0), for
 * `GET /v1/jobs/:id/output?format=npy`: `np.load` reads it as is.
 */
export function float32Npy(data: Float32Array, shape: readonly number[]): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ')
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`
  // Magic (6) + version (2) + header length (2) + header + '\n' is a multiple of 64.
  header += ' '.repeat(63 - ((10 + header.length) % 64))
  header += '\n'
  const out = new Uint8Array(10 + header.length + data.byteLength)
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0])
  new DataView(out.buffer).setUint16(8, header.length, true)
  out.set(new TextEncoder().encode(header), 10)
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  // .npy is little-endian here; so is every platform Node runs on.
  out.set(body, 10 + header.length)
  return out
}
