import { BYTES_PER_ELEMENT } from '@tabswarm/protocol'
import { KernelShapeError } from '../../errors.ts'
import { assertBufferFits } from '../../host/buffer-limits.ts'
import type { ProgramBuffer } from '../../host/gpu-program.ts'
import type { HostLimits } from '../../host/kernel-types.ts'
import { assertDimension } from '../common/assert-dimension.ts'
import {
  type FloatData,
  type FloatDtype,
  floatDtypeOf,
  floatInputWgsl,
  floatLength,
} from '../common/float-dtype.ts'
import { addFloatResult, addInput, groupsFor, type KernelPlan } from '../common/kernel-plan.ts'
import type { EmbeddingRequest } from './transformer-requests.ts'

const THREADS = 256

function embeddingWgsl(dtype: FloatDtype, idType: 'i32' | 'u32'): string {
  return /* wgsl */ `
struct Params { groupOffsetX: u32, groupOffsetY: u32, groupOffsetZ: u32, groupPad: u32, tokens: u32, dim: u32 }
${floatInputWgsl('table', 0, dtype)}
@group(0) @binding(1) var<storage, read> ids: array<${idType}>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(${THREADS}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + params.groupOffsetX) * ${THREADS}u + li;
  if (i >= params.tokens * params.dim) {
    return;
  }
  let token = i / params.dim;
  let column = i % params.dim;
  // Ids were range-checked on the CPU before upload.
  y[i] = tableAt(u32(ids[token]) * params.dim + column);
}
`
}

/**
 * Plan an embedding lookup. Ids are checked on the CPU (every id in `[0, vocab)`),
 * because an out-of-range index on the GPU would silently read a clamped row.
 */
export function planEmbedding(
  request: EmbeddingRequest,
  limits: HostLimits,
): KernelPlan<FloatData> {
  const dtype = floatDtypeOf(request.dtype)
  const { vocab, dim, ids } = request
  assertDimension('vocab', vocab)
  assertDimension('dim', dim)
  const tableLength = floatLength('table', request.table, dtype)
  if (tableLength !== vocab * dim) {
    throw new KernelShapeError(
      `table.length (${tableLength}) must equal vocab*dim (${vocab}*${dim} = ${vocab * dim}).`,
    )
  }
  if (!(ids instanceof Int32Array || ids instanceof Uint32Array) || ids.length < 1) {
    throw new KernelShapeError('ids must be a non-empty Int32Array or Uint32Array.')
  }
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t] as number
    if (id < 0 || id >= vocab) {
      throw new KernelShapeError(`ids[${t}] is ${id}, outside [0, vocab) = [0, ${vocab}).`)
    }
  }
  const count = ids.length * dim
  assertBufferFits(
    'table',
    `${tableLength}*${BYTES_PER_ELEMENT[dtype]}`,
    tableLength * BYTES_PER_ELEMENT[dtype],
    limits,
  )
  assertBufferFits('output', `${count}*4`, count * 4, limits)
  const buffers: ProgramBuffer[] = []
  const reads = [addInput(buffers, 'table', request.table), addInput(buffers, 'ids', ids)]
  const result = addFloatResult(buffers, 'y', count, dtype)
  const code = embeddingWgsl(dtype, ids instanceof Int32Array ? 'i32' : 'u32')
  return {
    program: {
      label: 'embedding',
      buffers,
      outputs: [result.output],
      passes: [
        {
          key: code,
          label: `embedding-${dtype}`,
          code,
          reads,
          writes: [result.target],
          uniform: 'grid',
          params: new Uint32Array([ids.length, dim, 0, 0]),
          grid: [groupsFor(count, THREADS), 1, 1],
          workPerWorkgroup: THREADS,
        },
        ...result.finish,
      ],
    },
    decode: ([bytes]) => result.decode(bytes as ArrayBuffer),
  }
}
