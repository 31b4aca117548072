import type { FloatDtype } from '../common/float-dtype.ts'
import type { MatmulCompute } from './matmul-compute.ts'
import { computeScalar, type MatmulKernel, matmulBindingsWgsl } from './matmul-kernel.ts'

/** Shape of the tiled kernel. Every invocation computes a 4×4 block of C. */
export type TiledMatmulConfig = {
  /** Invocations along x (C's columns). Tile width is `4 * threadsX`. */
  threadsX: number
  /** Invocations along y (C's rows). Tile height is `4 * threadsY`. */
  threadsY: number
  /** Depth of the K slice staged in workgroup memory per step; a multiple of both thread counts. */
  tileK: number
}

/**
 * 8×8 invocations × 4×4 outputs = 32×32 tile, K staged 16 deep: 4 KiB of workgroup
 * memory and 64 invocations, far inside WebGPU's default limits (16 KiB, 256), so it
 * runs on any conforming adapter. Same tile as TensorFlow.js's WebGPU matmul. On dawn
 * with SwiftShader it beat 16×16 (64×64 tiles) by 1.3× at 512³ and 2.4× at 129×257×65,
 * where big tiles leave too few workgroups to spread over the cores.
 */
export const DEFAULT_TILED_MATMUL_CONFIG: TiledMatmulConfig = {
  threadsX: 8,
  threadsY: 8,
  tileK: 16,
}

/** Storage and load options of one compiled tiled kernel. */
export type TiledMatmulFormat = {
  /** Storage of A and B. @default 'float32' */
  dtype?: FloatDtype
  /**
   * Read B as `vec4<f32>` rows: one load per 4 columns. Only valid for float32 with n a
   * multiple of 4 (the host picks it then). @default false
   */
  vectorB?: boolean
  /**
   * Write C as `vec4<f32>` runs: one store per 4 columns. Valid for n a multiple of 4
   * (C is always f32). @default false
   */
  vectorC?: boolean
  /**
   * `float16` (float16 storage, device with `shader-f16`): A and B read as `f16`,
   * staged as `vec4<f16>` (half the workgroup memory), products rounded to f16 and
   * summed in f32. @default 'float32'
   */
  compute?: MatmulCompute
}

const range = (count: number): number[] => Array.from({ length: count }, (_, i) => i)

function assertConfig({ threadsX, threadsY, tileK }: TiledMatmulConfig): void {
  const ok =
    threadsX * threadsY <= 256 &&
    tileK % threadsX === 0 &&
    tileK % threadsY === 0 &&
    16 * tileK * (threadsX + threadsY) <= 16384
  if (!ok)
    throw new RangeError(
      `Invalid tiled matmul config ${JSON.stringify({ threadsX, threadsY, tileK })}.`,
    )
}

/**
 * WGSL for a tiled, register-blocked matmul, correct for any M, K, N and batched over
 * `workgroup_id.z`.
 *
 * Each step stages a `tileM×tileK` slice of A and a `tileK×tileN` slice of B in
 * workgroup memory (out-of-range elements load as 0, so edges need no special path),
 * then each invocation accumulates a 4×4 block from it: per k, one vec4 of A (4 rows)
 * and one vec4 of B (4 columns) feed 16 FMAs, so workgroup-memory traffic is 1/8 of
 * the arithmetic. A is staged transposed (k-major, 4 rows per vec4) so both reads are
 * single vec4 loads; the k loop is unrolled here because not every WGSL compiler
 * unrolls it. Neighbouring invocations read neighbouring addresses; with `vectorB`
 * each reads B four columns at a time. Accumulation is f32 whatever the storage.
 */
export function createTiledMatmulWgsl(
  config: TiledMatmulConfig = DEFAULT_TILED_MATMUL_CONFIG,
  format: TiledMatmulFormat = {},
): string {
  assertConfig(config)
  const dtype = format.dtype ?? 'float32'
  const vectorB = format.vectorB === true
  const vectorC = format.vectorC === true
  const compute = format.compute ?? 'float32'
  const e = computeScalar(compute)
  if (vectorB && dtype !== 'float32') throw new RangeError('vectorB needs dtype float32.')
  const { threadsX: wx, threadsY: wy, tileK: tk } = config
  const threads = wx * wy
  const aSlots = (tk * wy) / threads
  const bSlots = (tk * wx) / threads

  const loadTileA = range(aSlots).map(
    (s) => `    {
      let e = li + ${s * threads}u;
      let kk = e % ${tk}u;
      let quad = e / ${tk}u;
      let r = rowBase + quad * 4u;
      let col = k0 + kk;
      tileA[kk * ${wy}u + quad] = vec4<${e}>(loadA(r, col), loadA(r + 1u, col), loadA(r + 2u, col), loadA(r + 3u, col));
    }`,
  )
  const loadTileB = range(bSlots).map(
    (s) => `    {
      let e = li + ${s * threads}u;
      let quad = e % ${wx}u;
      let kk = e / ${wx}u;
      tileB[kk * ${wx}u + quad] = loadB4(k0 + kk, colBase + quad * 4u);
    }`,
  )
  // f16 path: each row's four products are one vec4<f16> multiply, summed in f32.
  const accumulate = (acc: string, lane: string): string =>
    compute === 'float16'
      ? `${acc} += vec4<f32>(av.${lane} * bv);`
      : `${acc} = fma(vec4<f32>(av.${lane}), bv, ${acc});`
  const multiply = range(tk).map(
    (kk) => `    {
      let av = tileA[${kk * wy}u + lid.y];
      let bv = tileB[${kk * wx}u + lid.x];
      ${accumulate('acc0', 'x')}
      ${accumulate('acc1', 'y')}
      ${accumulate('acc2', 'z')}
      ${accumulate('acc3', 'w')}
    }`,
  )
  const loadB4 = vectorB
    ? `fn loadB4(row: u32, col: u32) -> vec4<f32> {
  // n % 4 == 0 here, so col < n implies all four columns are in range.
  return select(vec4<f32>(0.0), b[(baseB + row * dims.n + col) / 4u], row < dims.kEnd && col < dims.n);
}`
    : `fn loadB1(row: u32, col: u32) -> ${e} {
  return select(0.0, bAt(baseB + row * dims.n + col), row < dims.kEnd && col < dims.n);
}

fn loadB4(row: u32, col: u32) -> vec4<${e}> {
  return vec4<${e}>(loadB1(row, col), loadB1(row, col + 1u), loadB1(row, col + 2u), loadB1(row, col + 3u));
}`

  const storeRow = vectorC
    ? `fn storeRow(baseC: u32, row: u32, col: u32, v: vec4<f32>) {
  // n % 4 == 0 here, so col < n implies all four columns are in range.
  if (row < dims.m && col < dims.n) {
    c[(baseC + row * dims.n + col) / 4u] = v;
  }
}`
    : `fn storeRow(baseC: u32, row: u32, col: u32, v: vec4<f32>) {
  if (row >= dims.m) {
    return;
  }
  let base = baseC + row * dims.n + col;
  if (col + 3u < dims.n) {
    c[base] = v.x;
    c[base + 1u] = v.y;
    c[base + 2u] = v.z;
    c[base + 3u] = v.w;
    return;
  }
  if (col < dims.n) { c[base] = v.x; }
  if (col + 1u < dims.n) { c[base + 1u] = v.y; }
  if (col + 2u < dims.n) { c[base + 2u] = v.z; }
}`

  return /* wgsl */ `${matmulBindingsWgsl(dtype, { vectorB, vectorC, compute })}
var<workgroup> tileA: array<vec4<${e}>, ${tk * wy}>;
var<workgroup> tileB: array<vec4<${e}>, ${tk * wx}>;
var<private> baseA: u32;
var<private> baseB: u32;

// Out-of-range reads yield 0 so partial tiles contribute nothing. The index may be out
// of range when the condition is false; WGSL clamps such reads, and select drops them.
fn loadA(row: u32, col: u32) -> ${e} {
  return select(0.0, aAt(baseA + row * dims.k + col), row < dims.m && col < dims.kEnd);
}

${loadB4}

${storeRow}

@compute @workgroup_size(${wx}, ${wy}, 1)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let batch = wg.z + dims.groupOffsetZ;
  baseA = batch * dims.strideA;
  baseB = batch * dims.strideB;
  let rowBase = (wg.y + dims.groupOffsetY) * ${4 * wy}u;
  let colBase = (wg.x + dims.groupOffsetX) * ${4 * wx}u;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  let steps = (dims.kEnd - dims.kBegin + ${tk - 1}u) / ${tk}u;
  for (var t = 0u; t < steps; t++) {
    let k0 = dims.kBegin + t * ${tk}u;
${loadTileA.join('\n')}
${loadTileB.join('\n')}
    workgroupBarrier();
${multiply.join('\n')}
    workgroupBarrier();
  }
  let baseC = dims.offsetC + batch * dims.strideC;
  let row0 = rowBase + lid.y * 4u;
  let col0 = colBase + lid.x * 4u;
  storeRow(baseC, row0, col0, acc0);
  storeRow(baseC, row0 + 1u, col0, acc1);
  storeRow(baseC, row0 + 2u, col0, acc2);
  storeRow(baseC, row0 + 3u, col0, acc3);
}
`
}

/** Build a tiled kernel description for the host from a config and storage format. */
export function createTiledMatmulKernel(
  config: TiledMatmulConfig = DEFAULT_TILED_MATMUL_CONFIG,
  format: TiledMatmulFormat = {},
): MatmulKernel {
  return {
    variant: 'tiled',
    code: createTiledMatmulWgsl(config, format),
    tileRows: 4 * config.threadsY,
    tileCols: 4 * config.threadsX,
  }
}
