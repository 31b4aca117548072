import type { FloatDtype } from '../common/float-dtype.ts'
import type { MatmulCompute } from './matmul-compute.ts'
import { computeScalar, type MatmulKernel, matmulBindingsWgsl } from './matmul-kernel.ts'

/** Invocations per workgroup of the vector kernels. */
const THREADS = 64
/** Output columns per invocation in the row-vector kernel (m = 1). */
const COLS_PER_THREAD = 4
/** Output rows per workgroup in the column-vector kernel (n = 1). */
const ROWS_PER_GROUP = 4

/**
 * `c[1×n] = a[1×k] · B[k×n]` (m = 1): the tiled kernel would waste 31 of its 32 rows.
 * Each invocation owns 4 adjacent columns and walks k; neighbouring invocations read
 * neighbouring addresses of each row of B, and the element of a is the same for the
 * whole workgroup (a broadcast read).
 */
export function createRowVectorMatmulWgsl(
  dtype: FloatDtype = 'float32',
  compute: MatmulCompute = 'float32',
): string {
  const e = computeScalar(compute)
  // f16 path: the products round to f16 (one vec4<f16> multiply), the sum stays f32.
  const step =
    compute === 'float16'
      ? 'acc += vec4<f32>(vec4<f16>(av) * bv);'
      : 'acc = fma(vec4<f32>(av), bv, acc);'
  return /* wgsl */ `${matmulBindingsWgsl(dtype, { compute })}
fn loadB(i: u32, col: u32) -> ${e} {
  return select(0.0, bAt(i), col < dims.n);
}

@compute @workgroup_size(${THREADS}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let batch = wg.z + dims.groupOffsetZ;
  let col = ((wg.x + dims.groupOffsetX) * ${THREADS}u + lid.x) * ${COLS_PER_THREAD}u;
  let baseA = batch * dims.strideA;
  let baseB = batch * dims.strideB;
  var acc = vec4<f32>(0.0);
  for (var p = dims.kBegin; p < dims.kEnd; p++) {
    let av = aAt(baseA + p);
    let i = baseB + p * dims.n + col;
    let bv = vec4<${e}>(loadB(i, col), loadB(i + 1u, col + 1u), loadB(i + 2u, col + 2u), loadB(i + 3u, col + 3u));
    ${step}
  }
  let out = dims.offsetC + batch * dims.strideC + col;
  if (col < dims.n) { c[out] = acc.x; }
  if (col + 1u < dims.n) { c[out + 1u] = acc.y; }
  if (col + 2u < dims.n) { c[out + 2u] = acc.z; }
  if (col + 3u < dims.n) { c[out + 3u] = acc.w; }
}
`
}

/**
 * `c[m×1] = A[m×k] · b[k×1]` (n = 1): one workgroup per 4 rows; its 64 invocations
 * stride along k (reading A rows contiguously), then a tree reduction in workgroup
 * memory sums their partial dot products.
 */
export function createColumnVectorMatmulWgsl(
  dtype: FloatDtype = 'float32',
  compute: MatmulCompute = 'float32',
): string {
  const e = computeScalar(compute)
  const step =
    compute === 'float16'
      ? 'acc += vec4<f32>(av * vec4<f16>(bv));'
      : 'acc = fma(av, vec4<f32>(bv), acc);'
  return /* wgsl */ `${matmulBindingsWgsl(dtype, { compute })}
var<workgroup> partial: array<vec4<f32>, ${THREADS}>;

fn loadA(row: u32, i: u32) -> ${e} {
  return select(0.0, aAt(i), row < dims.m);
}

@compute @workgroup_size(${THREADS}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let batch = wg.z + dims.groupOffsetZ;
  let row0 = (wg.y + dims.groupOffsetY) * ${ROWS_PER_GROUP}u;
  let baseA = batch * dims.strideA;
  let baseB = batch * dims.strideB;
  var acc = vec4<f32>(0.0);
  for (var p = dims.kBegin + li; p < dims.kEnd; p += ${THREADS}u) {
    let bv = bAt(baseB + p);
    let i = baseA + row0 * dims.k + p;
    let av = vec4<${e}>(loadA(row0, i), loadA(row0 + 1u, i + dims.k), loadA(row0 + 2u, i + 2u * dims.k), loadA(row0 + 3u, i + 3u * dims.k));
    ${step}
  }
  partial[li] = acc;
  workgroupBarrier();
  for (var width = ${THREADS / 2}u; width > 0u; width >>= 1u) {
    if (li < width) {
      partial[li] += partial[li + width];
    }
    workgroupBarrier();
  }
  if (li < ${ROWS_PER_GROUP}u && row0 + li < dims.m) {
    c[dims.offsetC + batch * dims.strideC + row0 + li] = partial[0][li];
  }
}
`
}

/** The m = 1 kernel: each workgroup covers 256 columns of one row. */
export function createRowVectorMatmulKernel(
  dtype: FloatDtype = 'float32',
  compute: MatmulCompute = 'float32',
): MatmulKernel {
  return {
    variant: 'gemv',
    code: createRowVectorMatmulWgsl(dtype, compute),
    tileRows: 1,
    tileCols: THREADS * COLS_PER_THREAD,
  }
}

/** The n = 1 kernel: each workgroup covers 4 rows of one column. */
export function createColumnVectorMatmulKernel(
  dtype: FloatDtype = 'float32',
  compute: MatmulCompute = 'float32',
): MatmulKernel {
  return {
    variant: 'gemv',
    code: createColumnVectorMatmulWgsl(dtype, compute),
    tileRows: ROWS_PER_GROUP,
    tileCols: 1,
  }
}
