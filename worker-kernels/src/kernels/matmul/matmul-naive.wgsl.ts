import { MATMUL_BINDINGS_WGSL, type MatmulKernel } from './matmul-kernel.ts'

/** Invocations per workgroup side; one output element each. */
const SIDE = 16

/**
 * One output per invocation, reading A and B straight from storage. Kept as the
 * baseline the tiled kernel is benchmarked and cross-checked against.
 */
export const MATMUL_NAIVE_WGSL = /* wgsl */ `${MATMUL_BINDINGS_WGSL}
@compute @workgroup_size(${SIDE}, ${SIDE}, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col = gid.x + dims.groupOffsetX * ${SIDE}u;
  let row = gid.y + dims.groupOffsetY * ${SIDE}u;
  if (row >= dims.m || col >= dims.n) {
    return;
  }
  var sum = 0.0;
  for (var p = 0u; p < dims.k; p++) {
    sum = fma(a[row * dims.k + p], b[p * dims.n + col], sum);
  }
  c[row * dims.n + col] = sum;
}
`

/** The naive kernel as the host runs it. */
export const matmulNaiveKernel: MatmulKernel = {
  variant: 'naive',
  code: MATMUL_NAIVE_WGSL,
  tileRows: SIDE,
  tileCols: SIDE,
}
