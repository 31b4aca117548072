import {
  elementCount,
  isTensorDtype,
  type NdArray,
  type TensorData,
  type TensorDtype,
  typedArrayClassOf,
} from '@tabswarm/protocol'
import { InvalidInputError } from './client-errors.ts'

/**
 * What the SDK accepts as a tensor: an `NdArray` from `parseNpy`, or anything shaped like
 * one — `{ data, shape }` with an optional `dtype` (scijs `ndarray` objects qualify when C
 * contiguous). float16 travels as raw bits in a `Uint16Array` and must say `dtype: 'float16'`.
 */
export interface TensorLike {
  data: Float32Array | Int32Array | Uint32Array | Uint16Array
  shape: readonly number[]
  dtype?: string
  /** scijs ndarray layout; must describe a C-contiguous array. */
  stride?: readonly number[]
  offset?: number
}

function dtypeOfData(data: TensorLike['data']): TensorDtype | undefined {
  if (data instanceof Float32Array) return 'float32'
  if (data instanceof Int32Array) return 'int32'
  if (data instanceof Uint32Array) return 'uint32'
  return undefined
}

/**
 * Checks a tensor argument and returns it as an `NdArray`, or throws `InvalidInputError`
 * naming the argument and the problem.
 */
export function toNdArray(name: string, x: TensorLike): NdArray {
  if (x == null || typeof x !== 'object' || !ArrayBuffer.isView(x.data))
    throw new InvalidInputError(`${name} must be { data: TypedArray, shape: number[] }`)
  const dtype = x.dtype ?? dtypeOfData(x.data)
  if (dtype == null)
    throw new InvalidInputError(
      `${name}: cannot tell the dtype of a ${x.data.constructor.name}; pass dtype ('float16' for raw half bits)`,
    )
  if (!isTensorDtype(dtype))
    throw new InvalidInputError(
      `${name} is ${String(dtype).slice(0, 40)}; Tabswarm takes float32, float16, int32 and uint32`,
    )
  const Data = typedArrayClassOf(dtype)
  if (!(x.data instanceof Data))
    throw new InvalidInputError(
      `${name} says dtype ${dtype} but holds a ${x.data.constructor.name} (expected ${Data.name})`,
    )
  if (!Array.isArray(x.shape) || x.shape.some((d) => !Number.isSafeInteger(d) || d < 0))
    throw new InvalidInputError(
      `${name}.shape must be non-negative integers, got ${String(x.shape)}`,
    )
  const count = elementCount(x.shape)
  if (x.stride != null) {
    let expected = 1
    for (let axis = x.shape.length - 1; axis >= 0; axis--) {
      if (x.shape[axis]! > 1 && x.stride[axis] !== expected)
        throw new InvalidInputError(`${name} is not C-contiguous (stride ${x.stride.join(',')})`)
      expected *= x.shape[axis]!
    }
  }
  const offset = x.offset ?? 0
  if (offset + count > x.data.length)
    throw new InvalidInputError(
      `${name} has shape (${x.shape.join(', ')}) but only ${x.data.length - offset} elements`,
    )
  if (x.stride == null && x.data.length !== count)
    throw new InvalidInputError(
      `${name} has shape (${x.shape.join(', ')}) = ${count} elements but data has ${x.data.length}`,
    )
  const data = (
    offset === 0 && x.data.length === count ? x.data : x.data.subarray(offset, offset + count)
  ) as TensorData
  return { dtype, shape: [...x.shape], data } as NdArray
}

/** The bytes of a tensor's data, without copying. */
export function tensorBytes(x: NdArray): Uint8Array {
  return new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength)
}
