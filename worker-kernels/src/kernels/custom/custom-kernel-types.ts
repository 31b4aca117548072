/**
 * The contract of custom kernels: a researcher's WGSL with declared bindings, run by
 * the same host as the built-in kernels. The coordinator validates programs with
 * `validateCustomProgram` on submit; a `KernelRunner` runs them as
 * `run({ kernel: 'custom', ...request })`. Buffer dtypes are `@tabswarm/protocol`'s
 * `TensorDtype` (`float16` travels as `Uint16Array` bits).
 */
import type { TensorDtype } from '@tabswarm/protocol'

/** One declared buffer of a custom program. */
export type CustomKernelBinding = { name: string; dtype: TensorDtype }

/**
 * A custom WGSL program and its bindings.
 *
 * Bindings, all in `@group(0)`: inputs at `@binding(0..I-1)` as `var<storage, read>`,
 * outputs at `@binding(I..I+O-1)` as `var<storage, read_write>`, then, when the request
 * has `params`, one `var<uniform>` at `@binding(I+O)`.
 *
 * @example
 * const program: CustomKernelProgram = {
 *   wgsl: `@group(0) @binding(0) var<storage, read> x: array<f32>;
 *          @group(0) @binding(1) var<storage, read_write> y: array<f32>;
 *          @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
 *            if (g.x < arrayLength(&x)) { y[g.x] = 2.0 * x[g.x]; }
 *          }`,
 *   inputs: [{ name: 'x', dtype: 'float32' }],
 *   outputs: [{ name: 'y', dtype: 'float32' }],
 * }
 */
export interface CustomKernelProgram {
  /** WGSL source, at most 64 KiB (UTF-8). */
  wgsl: string
  /** @default 'main' */
  entryPoint?: string
  inputs: CustomKernelBinding[]
  outputs: CustomKernelBinding[]
}

/** One run of a custom program. */
export interface CustomKernelRequest {
  program: CustomKernelProgram
  /** One per `program.inputs`, of the matching dtype's array type. */
  inputs: ArrayBufferView[]
  /** Element count of each output. */
  outputs: Array<{ length: number }>
  /** Workgroups to dispatch, `[x, y, z]`. */
  workgroups: [number, number, number]
  /** Bytes of the uniform block. */
  params?: Uint8Array
  /** The job's declared caps, checked with the adapter's limits before anything runs. */
  caps?: { maxOutputBytes?: number; maxWorkgroups?: number }
}
