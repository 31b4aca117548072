/**
 * The dtypes that travel through Tabswarm and the typed arrays that hold them: the one
 * table that `.npy` files, tensor arguments, contributor leases and downloaded results all
 * read from. float16 is kept as its raw bits in a `Uint16Array` (JavaScript has no f16
 * array everywhere yet).
 */

/** dtypes that travel through Tabswarm, by their numpy names (WGSL's f32, f16, i32, u32). */
export type NpyDtype = 'float32' | 'float16' | 'int32' | 'uint32'

/** The typed array that holds each dtype; float16 is kept as its raw bits. */
export type NpyData<D extends NpyDtype = NpyDtype> = D extends 'float32'
  ? Float32Array
  : D extends 'int32'
    ? Int32Array
    : D extends 'uint32'
      ? Uint32Array
      : Uint16Array

type TypedArrayConstructor = {
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): NpyData
  readonly BYTES_PER_ELEMENT: number
  readonly name: string
}

interface DtypeInfo {
  /** numpy's `descr` in a little-endian `.npy` header. */
  descr: string
  itemSize: number
  ArrayType: TypedArrayConstructor
}

const DTYPES: Record<NpyDtype, DtypeInfo> = {
  float32: { descr: '<f4', itemSize: 4, ArrayType: Float32Array as TypedArrayConstructor },
  float16: { descr: '<f2', itemSize: 2, ArrayType: Uint16Array as TypedArrayConstructor },
  int32: { descr: '<i4', itemSize: 4, ArrayType: Int32Array as TypedArrayConstructor },
  uint32: { descr: '<u4', itemSize: 4, ArrayType: Uint32Array as TypedArrayConstructor },
}

/** Every supported dtype, in the order error messages list them. */
export const NPY_DTYPES = Object.keys(DTYPES) as readonly NpyDtype[]

/**
 * Whether `value` names a supported dtype. An own-property check, so `'toString'` or
 * `'constructor'` are not mistaken for dtypes through the prototype.
 */
export function isNpyDtype(value: unknown): value is NpyDtype {
  return typeof value === 'string' && Object.hasOwn(DTYPES, value)
}

/** Bytes per element of `dtype`. */
export function itemSize(dtype: NpyDtype): number {
  return DTYPES[dtype].itemSize
}

/** Elements in an array of `shape`: the product of its dimensions (1 for the empty shape). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((count, dim) => count * dim, 1)
}

/**
 * Bytes that an array of `dtype` and `shape` holds.
 *
 * @example
 * byteLengthOf('float32', [3, 4]) // 48
 */
export function byteLengthOf(dtype: NpyDtype, shape: readonly number[]): number {
  return elementCount(shape) * DTYPES[dtype].itemSize
}

/** numpy's little-endian `descr` for `dtype`, e.g. `'<f4'`. */
export function descrOf(dtype: NpyDtype): string {
  return DTYPES[dtype].descr
}

/** The dtype a little-endian `.npy` `descr` names, or undefined when Tabswarm does not take it. */
export function dtypeOfDescr(descr: string): NpyDtype | undefined {
  return NPY_DTYPES.find((d) => DTYPES[d].descr === descr)
}

/** The typed-array class that holds `dtype` (`Uint16Array` for float16 bits). */
export function typedArrayClassOf(dtype: NpyDtype): TypedArrayConstructor {
  return DTYPES[dtype].ArrayType
}

/**
 * Views `bytes` as the typed array that holds `dtype`, without copying. The bytes must be
 * aligned to the item size and a whole number of items long.
 *
 * @example
 * viewAs('uint32', new Uint8Array(8)) // Uint32Array(2) [0, 0]
 */
export function viewAs<D extends NpyDtype>(
  dtype: D,
  bytes: ArrayBuffer | ArrayBufferView,
): NpyData<D> {
  const { ArrayType, itemSize } = DTYPES[dtype]
  if (bytes instanceof ArrayBuffer) return new ArrayType(bytes) as NpyData<D>
  return new ArrayType(
    bytes.buffer,
    bytes.byteOffset,
    Math.floor(bytes.byteLength / itemSize),
  ) as NpyData<D>
}
