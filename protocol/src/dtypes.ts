/**
 * The dtypes that travel through Tabswarm and the typed arrays that hold them: the one
 * table that job specs, wire slots, kernels, `.npy` files, tensor arguments and downloaded
 * results all read from. float16 is kept as its raw bits in a `Uint16Array` (JavaScript
 * has no f16 array everywhere yet).
 */
import { z } from 'zod'

/** Element type of a tensor, by its numpy name (WGSL's f32, f16, i32, u32). */
export const TensorDtypeSchema = z.enum(['float32', 'float16', 'int32', 'uint32'])

/** Element type of a tensor. `float16` travels as its 16-bit patterns. */
export type TensorDtype = z.infer<typeof TensorDtypeSchema>

/** Every tensor dtype, in the order error messages list them. */
export const TENSOR_DTYPES: readonly TensorDtype[] = TensorDtypeSchema.options

/** The typed array that holds each dtype; float16 is kept as its raw bits. */
export type TensorData<D extends TensorDtype = TensorDtype> = D extends 'float32'
  ? Float32Array
  : D extends 'int32'
    ? Int32Array
    : D extends 'uint32'
      ? Uint32Array
      : Uint16Array

/** A constructor of the typed arrays that hold a dtype. */
export type TensorDataConstructor = {
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): TensorData
  readonly BYTES_PER_ELEMENT: number
  readonly name: string
}

/** Bytes per element of each dtype. */
export const BYTES_PER_ELEMENT: Readonly<Record<TensorDtype, number>> = {
  float32: 4,
  float16: 2,
  int32: 4,
  uint32: 4,
}

const ARRAY_TYPES: Readonly<Record<TensorDtype, TensorDataConstructor>> = {
  float32: Float32Array as TensorDataConstructor,
  float16: Uint16Array as TensorDataConstructor,
  int32: Int32Array as TensorDataConstructor,
  uint32: Uint32Array as TensorDataConstructor,
}

/**
 * Whether `value` names a tensor dtype. An own-property check, so `'toString'` or
 * `'constructor'` are not mistaken for dtypes through the prototype.
 */
export function isTensorDtype(value: unknown): value is TensorDtype {
  return typeof value === 'string' && Object.hasOwn(BYTES_PER_ELEMENT, value)
}

/** Elements in a tensor of `shape`: the product of its dimensions (1 for the empty shape). */
export function elementCount(shape: readonly number[]): number {
  let count = 1
  for (const dim of shape) count *= dim
  return count
}

/**
 * Bytes that a tensor of `shape` and `dtype` holds.
 *
 * @example
 * tensorByteLength([3, 4], 'float32') // 48
 */
export function tensorByteLength(shape: readonly number[], dtype: TensorDtype): number {
  return elementCount(shape) * BYTES_PER_ELEMENT[dtype]
}

/** The typed-array class that holds `dtype` (`Uint16Array` for float16 bits). */
export function typedArrayClassOf(dtype: TensorDtype): TensorDataConstructor {
  return ARRAY_TYPES[dtype]
}

/**
 * Views `bytes` as the typed array that holds `dtype`, without copying. The bytes must be
 * aligned to the element size; a trailing partial element is left out.
 *
 * @example
 * viewAs('uint32', new Uint8Array(8)) // Uint32Array(2) [0, 0]
 */
export function viewAs<D extends TensorDtype>(
  dtype: D,
  bytes: ArrayBuffer | ArrayBufferView,
): TensorData<D> {
  const ArrayType = ARRAY_TYPES[dtype]
  if (bytes instanceof ArrayBuffer) return new ArrayType(bytes) as TensorData<D>
  return new ArrayType(
    bytes.buffer,
    bytes.byteOffset,
    Math.floor(bytes.byteLength / BYTES_PER_ELEMENT[dtype]),
  ) as TensorData<D>
}

/**
 * `bytes` as the typed array that holds `dtype`: a view when they are aligned to the element
 * size, else a view of an aligned copy (a Node Buffer from a stream, or a wire payload, may
 * start at any offset of a larger buffer).
 *
 * @example
 * alignedViewAs('float32', payload.subarray(1, 9)) // Float32Array(2), copied
 */
export function alignedViewAs<D extends TensorDtype>(dtype: D, bytes: Uint8Array): TensorData<D> {
  return viewAs(
    dtype,
    bytes.byteOffset % BYTES_PER_ELEMENT[dtype] === 0 ? bytes : new Uint8Array(bytes),
  )
}
