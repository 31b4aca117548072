import { BYTES_PER_ELEMENT } from '@tabswarm/protocol'
import { KernelLimitError, KernelShapeError } from '../../errors.ts'
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
import { addFloatResult, addInput, type KernelPlan } from '../common/kernel-plan.ts'
import type { AttentionRequest } from './transformer-requests.ts'

/** Invocations per (head, query) workgroup; also the number of keys scored per step. */
const THREADS = 64
/** Largest head dimension: each invocation keeps `MAX_ATTENTION_HEAD_DIM / 64` accumulators. */
export const MAX_ATTENTION_HEAD_DIM = 256
const SLOTS = MAX_ATTENTION_HEAD_DIM / THREADS

/**
 * Attention for one query row per workgroup, streaming over keys in blocks of 64 with
 * an online softmax (running max and sum, rescaled as the max grows, as in
 * FlashAttention), so memory stays O(headDim) whatever the sequence length and `exp`
 * never overflows. Per block: each invocation scores one key (dot product with the
 * query, cached in workgroup memory), then every invocation folds the block's
 * probabilities into the output dimensions it owns.
 */
function attentionWgsl(dtype: FloatDtype): string {
  return /* wgsl */ `
struct Params { groupOffsetX: u32, groupOffsetY: u32, groupOffsetZ: u32, groupPad: u32, heads: u32, seqLen: u32, headDim: u32, causal: u32, scale: f32, kvLen: u32, groupSize: u32, pad0: u32 }
${floatInputWgsl('q', 0, dtype)}
${floatInputWgsl('k', 1, dtype)}
${floatInputWgsl('v', 2, dtype)}
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
var<workgroup> query: array<f32, ${MAX_ATTENTION_HEAD_DIM}>;
var<workgroup> scores: array<f32, ${THREADS}>;

@compute @workgroup_size(${THREADS}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = wg.x + params.groupOffsetX;
  let head = wg.y + params.groupOffsetY;
  if (i >= params.seqLen || head >= params.heads) {
    return;
  }
  let d = params.headDim;
  let headBase = head * params.seqLen * d;
  // Grouped-query attention: groupSize query heads share one key/value head.
  let kvBase = (head / params.groupSize) * params.kvLen * d;
  for (var t = li; t < d; t += ${THREADS}u) {
    query[t] = qAt(headBase + i * d + t);
  }
  workgroupBarrier();
  // Queries are the last seqLen of kvLen positions (a KV cache): query i is at kvLen − seqLen + i.
  let keys = select(params.kvLen, params.kvLen - params.seqLen + i + 1u, params.causal != 0u);
  var runMax = 0.0;
  var runSum = 0.0;
  var acc: array<f32, ${SLOTS}>;
  for (var j0 = 0u; j0 < keys; j0 += ${THREADS}u) {
    let j = j0 + li;
    var s = 0.0;
    if (j < keys) {
      var dot = 0.0;
      let kBase = kvBase + j * d;
      for (var t = 0u; t < d; t++) {
        dot = fma(query[t], kAt(kBase + t), dot);
      }
      s = dot * params.scale;
    }
    scores[li] = s;
    workgroupBarrier();
    let count = min(${THREADS}u, keys - j0);
    // Seeded with a real score: WGSL has no −Infinity literal.
    var blockMax = select(scores[0], max(runMax, scores[0]), j0 > 0u);
    for (var t = 1u; t < count; t++) {
      blockMax = max(blockMax, scores[t]);
    }
    // Nothing is accumulated before the first block; select avoids relying on exp(-inf).
    let correction = select(0.0, exp(runMax - blockMax), j0 > 0u);
    runSum *= correction;
    for (var slot = 0u; slot < ${SLOTS}u; slot++) {
      acc[slot] *= correction;
    }
    for (var t = 0u; t < count; t++) {
      let p = exp(scores[t] - blockMax);
      runSum += p;
      let vBase = kvBase + (j0 + t) * d;
      for (var slot = 0u; slot < ${SLOTS}u; slot++) {
        let dim = li + slot * ${THREADS}u;
        if (dim < d) {
          acc[slot] = fma(p, vAt(vBase + dim), acc[slot]);
        }
      }
    }
    runMax = blockMax;
    workgroupBarrier();
  }
  let out = headBase + i * d;
  for (var slot = 0u; slot < ${SLOTS}u; slot++) {
    let dim = li + slot * ${THREADS}u;
    if (dim < d) {
      y[out + dim] = acc[slot] / runSum;
    }
  }
}
`
}

/**
 * Plan causal (or full) scaled dot-product attention: queries `[heads, seqLen, headDim]`
 * against keys and values `[kvHeads, kvLen, headDim]` (a KV cache when `kvLen > seqLen`,
 * grouped-query attention when `kvHeads < heads`). Throws `KernelShapeError` for
 * inconsistent shapes and `KernelLimitError` for a head dimension above
 * `MAX_ATTENTION_HEAD_DIM` or buffers above the device limits.
 */
export function planAttention(
  request: AttentionRequest,
  limits: HostLimits,
): KernelPlan<FloatData> {
  const dtype = floatDtypeOf(request.dtype)
  const { heads, seqLen, headDim } = request
  const kvLen = request.kvLen ?? seqLen
  const kvHeads = request.kvHeads ?? heads
  assertDimension('heads', heads)
  assertDimension('seqLen', seqLen)
  assertDimension('headDim', headDim)
  assertDimension('kvLen', kvLen)
  assertDimension('kvHeads', kvHeads)
  if (headDim > MAX_ATTENTION_HEAD_DIM) {
    throw new KernelLimitError(
      `headDim ${headDim} is above ${MAX_ATTENTION_HEAD_DIM}, the largest the attention kernel supports.`,
    )
  }
  if (heads % kvHeads !== 0) {
    throw new KernelShapeError(`kvHeads (${kvHeads}) must divide heads (${heads}).`)
  }
  const causal = request.causal ?? true
  if (typeof causal !== 'boolean') throw new KernelShapeError('causal must be a boolean.')
  if (causal && kvLen < seqLen) {
    throw new KernelShapeError(
      `causal attention needs kvLen (${kvLen}) >= seqLen (${seqLen}): the queries are the last seqLen positions.`,
    )
  }
  const count = heads * seqLen * headDim
  const kvCount = kvHeads * kvLen * headDim
  for (const [name, want, formula] of [
    ['q', count, `heads*seqLen*headDim (${heads}*${seqLen}*${headDim} = ${count})`],
    ['k', kvCount, `kvHeads*kvLen*headDim (${kvHeads}*${kvLen}*${headDim} = ${kvCount})`],
    ['v', kvCount, `kvHeads*kvLen*headDim (${kvHeads}*${kvLen}*${headDim} = ${kvCount})`],
  ] as const) {
    const length = floatLength(name, request[name], dtype)
    if (length !== want) {
      throw new KernelShapeError(`${name}.length (${length}) must equal ${formula}.`)
    }
    assertBufferFits(
      name,
      `${want}*${BYTES_PER_ELEMENT[dtype]}`,
      want * BYTES_PER_ELEMENT[dtype],
      limits,
    )
  }
  assertBufferFits('output', `${count}*4`, count * 4, limits)
  const scale = request.scale ?? 1 / Math.sqrt(headDim)
  if (typeof scale !== 'number' || !Number.isFinite(scale)) {
    throw new KernelShapeError(`scale must be a finite number, got ${String(request.scale)}.`)
  }

  const buffers: ProgramBuffer[] = []
  const reads = [
    addInput(buffers, 'q', request.q),
    addInput(buffers, 'k', request.k),
    addInput(buffers, 'v', request.v),
  ]
  const result = addFloatResult(buffers, 'y', count, dtype)
  const params = new ArrayBuffer(32)
  new Uint32Array(params, 0, 4).set([heads, seqLen, headDim, causal ? 1 : 0])
  new Float32Array(params, 16, 1)[0] = scale
  new Uint32Array(params, 20, 2).set([kvLen, heads / kvHeads])
  const code = attentionWgsl(dtype)
  return {
    program: {
      label: 'attention',
      buffers,
      outputs: [result.output],
      passes: [
        {
          key: code,
          label: `attention-${dtype}`,
          code,
          reads,
          writes: [result.target],
          uniform: 'grid',
          params: new Uint8Array(params),
          grid: [seqLen, heads, 1],
          workPerWorkgroup: 4 * kvLen * headDim,
        },
        ...result.finish,
      ],
    },
    decode: ([bytes]) => result.decode(bytes as ArrayBuffer),
  }
}
