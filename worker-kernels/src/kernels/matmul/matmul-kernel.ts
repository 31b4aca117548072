/**
 * What the host needs to know about a matmul kernel besides its WGSL: how many outputs
 * one workgroup covers, to size and split dispatches. All matmul kernels share one
 * binding layout (`MATMUL_BINDINGS_WGSL`), so the host binds them all the same way.
 */

/** The matmul kernels the host can run. */
export type MatmulVariant = 'tiled' | 'naive'

/** A compiled-on-demand matmul kernel. */
export type MatmulKernel = {
  variant: MatmulVariant
  /** WGSL source; entry point `main`. */
  code: string
  /** Output rows (of C) one workgroup computes: workgroup_id.y steps by this. */
  tileRows: number
  /** Output columns (of C) one workgroup computes: workgroup_id.x steps by this. */
  tileCols: number
}

/** Byte size of the `Dims` uniform: 8 u32, padded to 16-byte multiples for uniforms. */
export const MATMUL_DIMS_BYTES = 32

/**
 * Bindings and uniforms every matmul kernel declares. `groupOffset` shifts
 * `workgroup_id` when the host splits a grid larger than
 * `maxComputeWorkgroupsPerDimension` into several dispatches.
 */
export const MATMUL_BINDINGS_WGSL = /* wgsl */ `
struct Dims {
  m: u32,
  k: u32,
  n: u32,
  groupOffsetX: u32,
  groupOffsetY: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> dims: Dims;
`

/** Pack the `Dims` uniform for one dispatch. */
export function packMatmulDims(
  m: number,
  k: number,
  n: number,
  groupOffsetX: number,
  groupOffsetY: number,
): Uint32Array<ArrayBuffer> {
  return new Uint32Array([m, k, n, groupOffsetX, groupOffsetY, 0, 0, 0])
}
