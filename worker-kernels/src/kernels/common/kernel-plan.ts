import type { GpuProgram, ProgramBuffer, ProgramPass } from '../../host/gpu-program.ts'
import type { FloatData, FloatDtype } from './float-dtype.ts'
import { createPackFloat16Pass } from './pack-float16.wgsl.ts'

/** A planned kernel call: the program to run and how to turn its outputs into the result. */
export type KernelPlan<Result> = {
  program: GpuProgram
  decode(outputs: ArrayBuffer[]): Result
}

/** Where a float result is written and how it is read back (see `addFloatResult`). */
export type FloatResult = {
  /** Buffer index the kernel writes its f32 values to. */
  target: number
  /** Passes to append after the kernel's own (the float16 packing pass, if any). */
  finish: ProgramPass[]
  /** Buffer index to read back. */
  output: number
  decode(bytes: ArrayBuffer): FloatData
}

/**
 * Add the buffers of a float result of `count` elements. Kernels always write f32;
 * for float16 they write to scratch and a packing pass rounds to f16 pairs, which keeps
 * every kernel free of the word-sharing races that packed stores would have.
 */
export function addFloatResult(
  buffers: ProgramBuffer[],
  label: string,
  count: number,
  dtype: FloatDtype,
): FloatResult {
  if (dtype === 'float32') {
    const output = buffers.push({ kind: 'output', label, bytes: count * 4 }) - 1
    return { target: output, finish: [], output, decode: (bytes) => new Float32Array(bytes) }
  }
  const target = buffers.push({ kind: 'scratch', label: `${label}-f32`, bytes: count * 4 }) - 1
  const output = buffers.push({ kind: 'output', label, bytes: count * 2 }) - 1
  return {
    target,
    finish: [createPackFloat16Pass(target, output, count)],
    output,
    decode: (bytes) => new Uint16Array(bytes),
  }
}

/** Add an input buffer and return its index. */
export function addInput(buffers: ProgramBuffer[], label: string, data: ArrayBufferView): number {
  return buffers.push({ kind: 'input', label, data }) - 1
}

/** Workgroups of `size` invocations needed for `count` items. */
export const groupsFor = (count: number, size: number): number => Math.ceil(count / size)
