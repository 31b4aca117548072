import type { FloatDtype } from '../common/float-dtype.ts'
import type { MatmulCompute } from './matmul-compute.ts'
import { type MatmulKernel, matmulBindingsWgsl } from './matmul-kernel.ts'

/** Invocations per workgroup side; one output element each. */
const SIDE = 16

/**
 * One output per invocation, reading A and B straight from storage. Kept as the
 * baseline the tiled kernel is benchmarked and cross-checked against.
 */
export function createNaiveMatmulWgsl(
  dtype: FloatDtype = 'float32',
  compute: MatmulCompute = 'float32',
): string {
  // f16 path: the product rounds to f16, the sum stays f32 (see matmul-compute.ts).
  const step =
    compute === 'float16'
      ? 'sum += f32(aAt(baseA + p) * bAt(baseB + p * dims.n));'
      : 'sum = fma(aAt(baseA + p), bAt(baseB + p * dims.n), sum);'
  return /* wgsl */ `${matmulBindingsWgsl(dtype, { compute })}
@compute @workgroup_size(${SIDE}, ${SIDE}, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let col = (wg.x + dims.groupOffsetX) * ${SIDE}u + lid.x;
  let row = (wg.y + dims.groupOffsetY) * ${SIDE}u + lid.y;
  let batch = wg.z + dims.groupOffsetZ;
  if (row >= dims.m || col >= dims.n) {
    return;
  }
  let baseA = batch * dims.strideA + row * dims.k;
  let baseB = batch * dims.strideB + col;
  var sum = 0.0;
  for (var p = dims.kBegin; p < dims.kEnd; p++) {
    ${step}
  }
  c[dims.offsetC + batch * dims.strideC + row * dims.n + col] = sum;
}
`
}

/** The naive kernel for a storage format. */
export function createNaiveMatmulKernel(
  dtype: FloatDtype = 'float32',
  compute: MatmulCompute = 'float32',
): MatmulKernel {
  return {
    variant: 'naive',
    code: createNaiveMatmulWgsl(dtype, compute),
    tileRows: SIDE,
    tileCols: SIDE,
  }
}
