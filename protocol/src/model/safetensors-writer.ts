/**
 * The safetensors format, write side: what tests and tools use to produce model files
 * (the test model, converted checkpoints). The header is padded with spaces to a multiple
 * of 8 bytes, as the reference implementation does, so every tensor's data starts
 * 8-byte aligned when tensors are whole multiples of 8 bytes.
 */
import type { SafetensorsDtype } from './safetensors.ts'
import { SAFETENSORS_PREFIX_BYTES } from './safetensors.ts'

/** One tensor to write: f32 as a `Float32Array`, f16 (or bf16) as its 16-bit patterns. */
export type SafetensorsEntry = {
  name: string
  dtype: SafetensorsDtype
  shape: readonly number[]
  data: Float32Array | Uint16Array
}

/**
 * Encode tensors, in the order given, as a safetensors file.
 *
 * @throws {RangeError} if a tensor's data does not match its shape and dtype, or a name repeats.
 * @example
 * const bytes = encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }])
 */
export function encodeSafetensors(
  tensors: readonly SafetensorsEntry[],
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array<ArrayBuffer> {
  const header: Record<string, unknown> = {}
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata
  let offset = 0
  for (const tensor of tensors) {
    const wide = tensor.dtype === 'F32'
    if (wide !== tensor.data instanceof Float32Array)
      throw new RangeError(
        `Tensor ${tensor.name}: ${tensor.dtype} data must be a ${wide ? 'Float32Array' : 'Uint16Array'}.`,
      )
    const elements = tensor.shape.reduce((a, b) => a * b, 1)
    if (elements !== tensor.data.length)
      throw new RangeError(
        `Tensor ${tensor.name}: shape [${tensor.shape}] has ${elements} elements, data ${tensor.data.length}.`,
      )
    if (Object.hasOwn(header, tensor.name) || tensor.name === '__metadata__')
      throw new RangeError(`Tensor name ${tensor.name} repeats or is reserved.`)
    header[tensor.name] = {
      dtype: tensor.dtype,
      shape: [...tensor.shape],
      data_offsets: [offset, offset + tensor.data.byteLength],
    }
    offset += tensor.data.byteLength
  }
  let json = new TextEncoder().encode(JSON.stringify(header))
  const padded = Math.ceil(json.length / 8) * 8
  if (padded !== json.length) {
    const spaced = new Uint8Array(padded).fill(0x20)
    spaced.set(json)
    json = spaced
  }
  const file = new Uint8Array(SAFETENSORS_PREFIX_BYTES + json.length + offset)
  new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true)
  file.set(json, SAFETENSORS_PREFIX_BYTES)
  let cursor = SAFETENSORS_PREFIX_BYTES + json.length
  for (const tensor of tensors) {
    file.set(
      new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength),
      cursor,
    )
    cursor += tensor.data.byteLength
  }
  return file
}
