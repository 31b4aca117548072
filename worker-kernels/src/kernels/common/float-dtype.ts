/**
 * Number formats of the built-in kernels and how their WGSL reads and writes them.
 *
 * float16 data travels as `Uint16Array` bits and is stored two values per `u32` word,
 * read with `unpack2x16float` and written with `pack2x16float`. Those are core WGSL
 * built-ins, so the f16 kernels (f16 storage, f32 arithmetic) run on every adapter,
 * SwiftShader included, with or without the optional `shader-f16` feature. Where the
 * device has it, matmul and the decoder's projections read f16 natively and multiply in
 * f16 instead (`matmul-compute.ts`, `decoder-compute.ts`).
 */
import type { TensorDtype } from '@tabswarm/protocol'
import { KernelShapeError } from '../../errors.ts'

/** Storage format of a built-in kernel's float operands and result: the float `TensorDtype`s. */
export type FloatDtype = Extract<TensorDtype, 'float32' | 'float16'>

/** Float data as it crosses the API: `Float32Array`, or float16 bits in a `Uint16Array`. */
export type FloatData = Float32Array | Uint16Array

/**
 * Check that `data` is the array type of `dtype` and holds `length` elements. Throws
 * `KernelShapeError` naming the operand.
 */
export function assertFloatData(
  name: string,
  data: unknown,
  dtype: FloatDtype,
  length: number,
): asserts data is FloatData {
  const ok = dtype === 'float32' ? data instanceof Float32Array : data instanceof Uint16Array
  if (!ok || !(data instanceof Float32Array || data instanceof Uint16Array)) {
    const want = dtype === 'float32' ? 'a Float32Array' : 'a Uint16Array of float16 bits'
    throw new KernelShapeError(`${name} must be ${want} for dtype ${dtype}.`)
  }
  if (data.length !== length) {
    throw new KernelShapeError(`${name}.length (${data.length}) must be ${length}.`)
  }
}

/** Resolve and check a float dtype option. */
export function floatDtypeOf(value: unknown): FloatDtype {
  const dtype = value ?? 'float32'
  if (dtype !== 'float32' && dtype !== 'float16') {
    throw new KernelShapeError(`dtype must be float32 or float16, got ${String(dtype)}.`)
  }
  return dtype
}

/** Length of a float operand, checked against its dtype's array type. */
export function floatLength(name: string, data: unknown, dtype: FloatDtype): number {
  const length = data instanceof Float32Array || data instanceof Uint16Array ? data.length : -1
  assertFloatData(name, data, dtype, length)
  if (length < 1) throw new KernelShapeError(`${name} must not be empty.`)
  return length
}

/** The WGSL element type a buffer of this dtype is declared with. */
export function storageElement(dtype: FloatDtype): 'f32' | 'u32' {
  return dtype === 'float32' ? 'f32' : 'u32'
}

/**
 * WGSL declaring a read-only float buffer and `fn <name>At(i: u32) -> f32`, which reads
 * element i whatever the storage format.
 */
export function floatInputWgsl(name: string, binding: number, dtype: FloatDtype): string {
  const declaration = `@group(0) @binding(${binding}) var<storage, read> ${name}: array<${storageElement(dtype)}>;`
  const read = dtype === 'float32' ? `${name}[i]` : `unpack2x16float(${name}[i >> 1u])[i & 1u]`
  return `${declaration}\nfn ${name}At(i: u32) -> f32 { return ${read}; }`
}
