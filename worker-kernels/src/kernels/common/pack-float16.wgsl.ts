import type { ProgramPass } from '../../host/gpu-program.ts'

const THREADS = 256

/**
 * Round f32 values to f16 and pack two per u32 word (element 2i in the low half), the
 * layout of a little-endian `Uint16Array`. One invocation per word, so no two
 * invocations share a word.
 */
export const PACK_FLOAT16_WGSL = /* wgsl */ `
struct Params { groupOffsetX: u32, groupOffsetY: u32, groupOffsetZ: u32, groupPad: u32, count: u32 }
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(${THREADS}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let word = (wg.x + params.groupOffsetX) * ${THREADS}u + li;
  let first = word * 2u;
  if (first >= params.count) {
    return;
  }
  let second = select(0.0, src[min(first + 1u, params.count - 1u)], first + 1u < params.count);
  dst[word] = pack2x16float(vec2<f32>(src[first], second));
}
`

/** The packing pass from f32 buffer `source` to packed f16 buffer `target`. */
export function createPackFloat16Pass(source: number, target: number, count: number): ProgramPass {
  return {
    key: 'pack-float16',
    label: 'pack-float16',
    code: PACK_FLOAT16_WGSL,
    reads: [source],
    writes: [target],
    uniform: 'grid',
    params: new Uint32Array([count, 0, 0, 0]),
    grid: [Math.ceil(Math.ceil(count / 2) / THREADS), 1, 1],
    workPerWorkgroup: THREADS * 2,
  }
}
