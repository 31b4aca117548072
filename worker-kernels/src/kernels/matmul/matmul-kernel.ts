/**
 * What the host needs to know about a matmul kernel besides its WGSL: how many outputs
 * one workgroup covers, to size and split dispatches. All matmul kernels share one
 * binding layout (`matmulBindingsWgsl`): A, B read-only, C read-write, then `Params`.
 */
import { type FloatDtype, floatInputWgsl } from '../common/float-dtype.ts'
import type { MatmulCompute } from './matmul-compute.ts'

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
  /**
   * `float16` (float16 storage only): start with `enable f16;` and declare A and B as
   * `array<f16>`, so `aAt`/`bAt` return `f16`. @default 'float32'
   */
  compute?: MatmulCompute
}

/** The WGSL scalar type a kernel computes products in. */
export const computeScalar = (compute: MatmulCompute): 'f32' | 'f16' =>
  compute === 'float16' ? 'f16' : 'f32'

/**
 * Bindings and uniforms every matmul kernel declares, for A and B stored as `dtype`
 * (C is always f32; float16 results are packed by a separate pass). Exposes
 * `aAt(i)`/`bAt(i)` (`bAt` only without `vectorB`), returning `f32`, or `f16` with
 * `compute: 'float16'`. `groupOffset*` shifts `workgroup_id` when the host splits a
 * grid; `strideA/B/C` are the element distances between batch entries (0 broadcasts).
 * The reduction runs over `kBegin..kEnd` (`0..k` unless the host splits k, see
 * `matmul-split-k.ts`), and C is written from element `offsetC` on.
 */
export function matmulBindingsWgsl(
  dtype: FloatDtype,
  { vectorB = false, vectorC = false, compute = 'float32' }: MatmulBindingOptions = {},
): string {
  if (vectorB && dtype !== 'float32') {
    throw new RangeError(`vectorB needs float32 storage of B, got ${dtype}.`)
  }
  if (compute === 'float16' && dtype !== 'float16') {
    throw new RangeError(`compute float16 needs float16 storage, got ${dtype}.`)
  }
  const f16 = compute === 'float16'
  const input = (name: string, binding: number): string =>
    f16
      ? `@group(0) @binding(${binding}) var<storage, read> ${name}: array<f16>;\nfn ${name}At(i: u32) -> f16 { return ${name}[i]; }`
      : floatInputWgsl(name, binding, dtype)
  const b = vectorB
    ? '@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;'
    : input('b', 1)
  return /* wgsl */ `${f16 ? 'enable f16;\n' : ''}
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
  kBegin: u32,
  kEnd: u32,
  offsetC: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

${input('a', 0)}
${b}
@group(0) @binding(2) var<storage, read_write> c: array<${vectorC ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(3) var<uniform> dims: Params;
`
}

/**
 * Pack the matmul params (after the grid header) for one call: the whole reduction
 * (`kBegin` 0, `kEnd` k) into C from element 0 unless a split-K pass says otherwise.
 */
export function packMatmulParams(p: {
  m: number
  k: number
  n: number
  strideA: number
  strideB: number
  strideC: number
  kBegin?: number
  kEnd?: number
  offsetC?: number
}): Uint32Array<ArrayBuffer> {
  const { kBegin = 0, kEnd = p.k, offsetC = 0 } = p
  return new Uint32Array([
    p.m,
    p.k,
    p.n,
    p.strideA,
    p.strideB,
    p.strideC,
    kBegin,
    kEnd,
    offsetC,
    0,
    0,
    0,
  ])
}
