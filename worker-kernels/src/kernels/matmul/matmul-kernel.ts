/**
 * What the host needs to know about a matmul kernel besides its WGSL: how many outputs
 * one workgroup covers, to size and split dispatches. All matmul kernels share one
 * binding layout (`matmulBindingsWgsl`): A, B read-only, C read-write, then `Params`.
 */
import { type FloatDtype, floatInputWgsl } from '../common/float-dtype.ts'

/**
 * The matmul kernels the host can run. `auto` picks `gemv` when m or n is 1 and
 * `tiled` otherwise.
 */
export type MatmulVariant = 'tiled' | 'naive' | 'gemv' | 'auto'

/** A matmul kernel as the host runs it. */
export type MatmulKernel = {
  variant: Exclude<MatmulVariant, 'auto'>
  /** WGSL source; entry point `main`. */
  code: string
  /** Output rows (of C) one workgroup computes: workgroup_id.y steps by this. */
  tileRows: number
  /** Output columns (of C) one workgroup computes: workgroup_id.x steps by this. */
  tileCols: number
}

/** Alternative declarations of the matmul bindings (same buffers, same layout). */
export type MatmulBindingOptions = {
  /** Declare B as `array<vec4<f32>>` (float32 only, n a multiple of 4); no `bAt`. */
  vectorB?: boolean
  /** Declare C as `array<vec4<f32>>` (n a multiple of 4). */
  vectorC?: boolean
}

/**
 * Bindings and uniforms every matmul kernel declares, for A and B stored as `dtype`
 * (C is always f32; float16 results are packed by a separate pass). Exposes
 * `aAt(i)`/`bAt(i) -> f32` (`bAt` only without `vectorB`). `groupOffset*` shifts
 * `workgroup_id` when the host splits a grid; `strideA/B/C` are the element distances
 * between batch entries (0 broadcasts).
 */
export function matmulBindingsWgsl(
  dtype: FloatDtype,
  { vectorB = false, vectorC = false }: MatmulBindingOptions = {},
): string {
  if (vectorB && dtype !== 'float32') {
    throw new RangeError(`vectorB needs float32 storage of B, got ${dtype}.`)
  }
  const b = vectorB
    ? '@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;'
    : floatInputWgsl('b', 1, dtype)
  return /* wgsl */ `
struct Params {
  groupOffsetX: u32,
  groupOffsetY: u32,
  groupOffsetZ: u32,
  groupPad: u32,
  m: u32,
  k: u32,
  n: u32,
  strideA: u32,
  strideB: u32,
  strideC: u32,
  pad0: u32,
  pad1: u32,
}

${floatInputWgsl('a', 0, dtype)}
${b}
@group(0) @binding(2) var<storage, read_write> c: array<${vectorC ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(3) var<uniform> dims: Params;
`
}

/** Pack the matmul params (after the grid header) for one call. */
export function packMatmulParams(p: {
  m: number
  k: number
  n: number
  strideA: number
  strideB: number
  strideC: number
}): Uint32Array<ArrayBuffer> {
  return new Uint32Array([p.m, p.k, p.n, p.strideA, p.strideB, p.strideC, 0, 0])
}
