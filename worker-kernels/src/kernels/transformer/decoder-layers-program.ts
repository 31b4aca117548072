/**
 * The fused `decoder-layers` kernel: a stage step (embedding, every layer, optionally the
 * final norm and LM head) planned as ONE `GpuProgram`, so a worker-hosted stage pays one
 * `postMessage` round trip and one read-back per step instead of one per op.
 *
 * The KV cache travels with the call: each layer's cached keys and values are inputs, its
 * new rows are outputs the caller appends (`gpu-decoder-stage.ts`). Weights are uploaded
 * with every call; persistent device buffers are the next step.
 */
import {
  BYTES_PER_ELEMENT,
  type DecoderConfig,
  type DecoderTensorRole,
  decoderTensorNames,
} from '@tabswarm/protocol'
import { KernelShapeError } from '../../errors.ts'
import { assertBufferFits } from '../../host/buffer-limits.ts'
import type { ProgramBuffer, ProgramPass } from '../../host/gpu-program.ts'
import type { HostLimits } from '../../host/kernel-types.ts'
import { assertDimension } from '../common/assert-dimension.ts'
import { assertFloatData, floatDtypeOf } from '../common/float-dtype.ts'
import { addInput, type KernelPlan } from '../common/kernel-plan.ts'
import { DEFAULT_PLAN_CONTEXT, type PlanContext } from '../common/plan-context.ts'
import { MAX_ATTENTION_HEAD_DIM } from './attention-program.ts'
import { selectDecoderCompute } from './decoder-compute.ts'
import {
  copyPass,
  decodeAttentionPass,
  embedPass,
  geluPass,
  linearPass,
  normPass,
  ropePass,
  ropeTables,
  swigluPass,
} from './decoder-passes.ts'
import type { DecoderLayersRequest, DecoderLayerTensors } from './transformer-requests.ts'

/** Element counts of a layer's tensors (layer 0's specs) and of the global ones, by role. */
function shapesOf(config: DecoderConfig): {
  layer: Map<DecoderTensorRole, number>
  global: Map<DecoderTensorRole, number>
} {
  const layer = new Map<DecoderTensorRole, number>()
  const global = new Map<DecoderTensorRole, number>()
  for (const spec of decoderTensorNames(config)) {
    const count = spec.shape.reduce((a, b) => a * b, 1)
    if (spec.layer === 0) layer.set(spec.role, count)
    else if (spec.layer === null) global.set(spec.role, count)
  }
  // A tied head is the token embedding; the request names it `lm-head` either way.
  global.set('lm-head', config.vocabSize * config.hiddenSize)
  return { layer, global }
}

/**
 * Plan a fused decoder step. Checks every operand's type and length against `config`
 * (`KernelShapeError` naming the tensor), token ids against the vocabulary and positions
 * against the context before any GPU work.
 *
 * The host's features in `context` decide the projections' arithmetic
 * (`selectDecoderCompute`): f16 products for float16 weights on a `shader-f16` device,
 * f32 otherwise or when `request.compute` is `float32`; every other pass is f32 always.
 */
export function planDecoderLayers(
  request: DecoderLayersRequest,
  limits: HostLimits,
  context: PlanContext = DEFAULT_PLAN_CONTEXT,
): KernelPlan<Float32Array[]> {
  const dtype = floatDtypeOf(request.dtype)
  const compute = selectDecoderCompute(dtype, context.deviceFeatures, request.compute ?? 'auto')
  const { config, rows, start } = request
  if (config === null || typeof config !== 'object') {
    throw new KernelShapeError('config must be a DecoderConfig (checkConfig).')
  }
  const { hiddenSize: hidden, heads, kvHeads, headDim, intermediateSize: inner } = config
  for (const [name, value] of Object.entries({ hidden, heads, kvHeads, headDim, inner, rows })) {
    assertDimension(name, value)
  }
  if (heads % kvHeads !== 0)
    throw new KernelShapeError(`heads (${heads}) must be a multiple of kvHeads (${kvHeads}).`)
  if (headDim > MAX_ATTENTION_HEAD_DIM || (config.positions === 'rotary' && headDim % 2 !== 0)) {
    throw new KernelShapeError(
      `headDim (${headDim}) must be at most ${MAX_ATTENTION_HEAD_DIM} (and even for rotary positions).`,
    )
  }
  if (!(Number.isSafeInteger(start) && start >= 0 && start + rows <= config.maxPositions)) {
    throw new KernelShapeError(
      `positions ${start}…${start + rows - 1} must lie within the model's context 0…${config.maxPositions - 1}.`,
    )
  }
  if (!Array.isArray(request.layers)) throw new KernelShapeError('layers must be an array.')
  const head = request.head === true
  if (request.layers.length === 0 && !head) {
    throw new KernelShapeError('a decoder-layers call needs at least one layer or the head.')
  }
  const shapes = shapesOf(config)
  const qDim = heads * headDim
  const kvDim = kvHeads * headDim
  const order = config.family === 'gpt2' ? 'in-out' : 'out-in'
  const buffers: ProgramBuffer[] = []
  const passes: ProgramPass[] = []
  const scratch = (label: string, count: number) => {
    assertBufferFits(label, `${count}*4`, count * 4, limits)
    return buffers.push({ kind: 'scratch', label, bytes: count * 4 }) - 1
  }
  const output = (label: string, count: number) => {
    assertBufferFits(label, `${count}*4`, count * 4, limits)
    return buffers.push({ kind: 'output', label, bytes: count * 4 }) - 1
  }
  const tensor = (
    tensors: DecoderLayerTensors | undefined,
    role: DecoderTensorRole,
    where: string,
    sizes: Map<DecoderTensorRole, number>,
    optional = false,
  ): number | undefined => {
    const data = tensors?.[role]
    const length = sizes.get(role)
    if (data === undefined || length === undefined) {
      if (optional && length === undefined) return undefined
      throw new KernelShapeError(
        `${where} lacks the ${role} tensor its ${config.family} config needs.`,
      )
    }
    assertFloatData(`${where} ${role}`, data, dtype, length)
    const bytes = length * BYTES_PER_ELEMENT[dtype]
    assertBufferFits(`${where} ${role}`, `${length}*${BYTES_PER_ELEMENT[dtype]}`, bytes, limits)
    return addInput(buffers, `${where}-${role}`, data)
  }

  // The residual stream, read back as the first result.
  const h = output('hidden', rows * hidden)
  if (request.tokens !== undefined) {
    const { tokens } = request
    if (!(tokens instanceof Int32Array) || tokens.length !== rows) {
      throw new KernelShapeError(`tokens must be an Int32Array of rows (${rows}) ids.`)
    }
    for (let t = 0; t < rows; t++) {
      const id = tokens[t] as number
      if (id < 0 || id >= config.vocabSize) {
        throw new KernelShapeError(
          `tokens[${t}] is ${id}, outside the vocabulary 0…${config.vocabSize - 1}.`,
        )
      }
    }
    const ids = addInput(buffers, 'tokens', tokens)
    const table = tensor(request.global, 'token-embedding', 'global', shapes.global) as number
    const positions =
      config.positions === 'learned'
        ? tensor(request.global, 'position-embedding', 'global', shapes.global)
        : undefined
    passes.push(embedPass({ ids, table, positions, y: h, dtype, rows, hidden, start }))
  } else {
    const { x } = request
    if (!(x instanceof Float32Array) || x.length !== rows * hidden) {
      throw new KernelShapeError(
        `x must be a Float32Array of rows×hidden (${rows}×${hidden} = ${rows * hidden}) values, got ${x instanceof Float32Array ? x.length : typeof x}.`,
      )
    }
    passes.push(copyPass(addInput(buffers, 'x', x), h, rows * hidden))
  }

  const layerCount = request.layers.length
  const a = scratch('normed', rows * hidden)
  const outputs = [h]
  if (layerCount > 0) {
    const q = scratch('q', rows * qDim)
    const attended = scratch('attended', rows * qDim)
    const up = scratch('up', rows * inner)
    const gate = config.mlp === 'swiglu' ? scratch('gate', rows * inner) : undefined
    let tables: { cos: number; sin: number } | undefined
    if (config.positions === 'rotary') {
      const positions = Array.from({ length: rows }, (_, r) => start + r)
      const { cos, sin } = ropeTables(positions, headDim, config.ropeTheta ?? 1)
      tables = { cos: addInput(buffers, 'rope-cos', cos), sin: addInput(buffers, 'rope-sin', sin) }
    }
    const norm = (
      tensors: DecoderLayerTensors,
      where: string,
      weight: DecoderTensorRole,
      bias: DecoderTensorRole,
    ) =>
      normPass({
        kind: config.norm,
        x: h,
        gamma: tensor(tensors, weight, where, shapes.layer) as number,
        beta: config.norm === 'layernorm' ? tensor(tensors, bias, where, shapes.layer) : undefined,
        y: a,
        dtype,
        rows,
        cols: hidden,
        epsilon: config.normEpsilon,
      })
    request.layers.forEach((layer, index) => {
      const where = `layer ${index} of the call`
      const { tensors } = layer
      if (tensors === null || typeof tensors !== 'object') {
        throw new KernelShapeError(`${where} has no tensors.`)
      }
      for (const [name, cached] of [
        ['pastKeys', layer.pastKeys],
        ['pastValues', layer.pastValues],
      ] as const) {
        if (!(cached instanceof Float32Array) || cached.length !== start * kvDim) {
          throw new KernelShapeError(
            `${where}: ${name} must be a Float32Array of start×kvHeads×headDim (${start}×${kvDim}) values: the cache and start disagree.`,
          )
        }
      }
      const pastK = addInput(buffers, `${where}-past-keys`, layer.pastKeys)
      const pastV = addInput(buffers, `${where}-past-values`, layer.pastValues)
      const newK = output(`${where}-keys`, rows * kvDim)
      const newV = output(`${where}-values`, rows * kvDim)
      outputs.push(newK, newV)
      const project = (
        w: number,
        bias: number | undefined,
        y: number,
        inDim: number,
        outDim: number,
        colStart: number,
        cols: number,
        x = a,
        accumulate = false,
        layout: 'in-out' | 'out-in' = order,
      ) =>
        passes.push(
          linearPass({
            x,
            w,
            bias,
            y,
            dtype,
            order: layout,
            rows,
            inDim,
            outDim,
            colStart,
            cols,
            accumulate,
            compute,
          }),
        )

      passes.push(norm(tensors, where, 'attention-norm-weight', 'attention-norm-bias'))
      if (shapes.layer.has('qkv-weight')) {
        const w = tensor(tensors, 'qkv-weight', where, shapes.layer) as number
        const bias = tensor(tensors, 'qkv-bias', where, shapes.layer, true)
        const width = qDim + 2 * kvDim
        project(w, bias, q, hidden, width, 0, qDim, a, false, 'in-out')
        project(w, bias, newK, hidden, width, qDim, kvDim, a, false, 'in-out')
        project(w, bias, newV, hidden, width, qDim + kvDim, kvDim, a, false, 'in-out')
      } else {
        project(
          tensor(tensors, 'q-weight', where, shapes.layer) as number,
          undefined,
          q,
          hidden,
          qDim,
          0,
          qDim,
        )
        project(
          tensor(tensors, 'k-weight', where, shapes.layer) as number,
          undefined,
          newK,
          hidden,
          kvDim,
          0,
          kvDim,
        )
        project(
          tensor(tensors, 'v-weight', where, shapes.layer) as number,
          undefined,
          newV,
          hidden,
          kvDim,
          0,
          kvDim,
        )
      }
      if (tables !== undefined) {
        passes.push(ropePass({ x: q, cos: tables.cos, sin: tables.sin, rows, heads, headDim }))
        passes.push(
          ropePass({ x: newK, cos: tables.cos, sin: tables.sin, rows, heads: kvHeads, headDim }),
        )
      }
      passes.push(
        decodeAttentionPass({
          q,
          pastK,
          pastV,
          newK,
          newV,
          out: attended,
          rows,
          start,
          heads,
          kvHeads,
          headDim,
        }),
      )
      project(
        tensor(tensors, 'attention-output-weight', where, shapes.layer) as number,
        tensor(tensors, 'attention-output-bias', where, shapes.layer, true),
        h,
        qDim,
        hidden,
        0,
        hidden,
        attended,
        true,
      )
      passes.push(norm(tensors, where, 'mlp-norm-weight', 'mlp-norm-bias'))
      project(
        tensor(tensors, 'mlp-up-weight', where, shapes.layer) as number,
        tensor(tensors, 'mlp-up-bias', where, shapes.layer, true),
        up,
        hidden,
        inner,
        0,
        inner,
      )
      if (gate !== undefined) {
        const w = tensor(tensors, 'mlp-gate-weight', where, shapes.layer) as number
        project(w, undefined, gate, hidden, inner, 0, inner)
        passes.push(swigluPass({ gate, up, dtype: 'float32', count: rows * inner }))
      } else {
        passes.push(geluPass(up, rows * inner))
      }
      project(
        tensor(tensors, 'mlp-down-weight', where, shapes.layer) as number,
        tensor(tensors, 'mlp-down-bias', where, shapes.layer, true),
        h,
        inner,
        hidden,
        0,
        hidden,
        up,
        true,
      )
    })
  }

  if (head) {
    const vocab = config.vocabSize
    const gamma = tensor(request.global, 'final-norm-weight', 'global', shapes.global) as number
    const beta =
      config.norm === 'layernorm'
        ? tensor(request.global, 'final-norm-bias', 'global', shapes.global)
        : undefined
    passes.push(
      normPass({
        kind: config.norm,
        x: h,
        gamma,
        beta,
        y: a,
        dtype,
        rows: 1,
        cols: hidden,
        epsilon: config.normEpsilon,
        firstRow: rows - 1,
      }),
    )
    const lmHead = tensor(request.global, 'lm-head', 'global', shapes.global) as number
    const logits = output('logits', vocab)
    outputs.push(logits)
    // The LM head (or tied embedding) is [vocab, hidden] in both families.
    passes.push(
      linearPass({
        x: a,
        w: lmHead,
        bias: undefined,
        y: logits,
        dtype,
        order: 'out-in',
        rows: 1,
        inDim: hidden,
        outDim: vocab,
        colStart: 0,
        cols: vocab,
        accumulate: false,
        compute,
      }),
    )
  }
  return {
    program: { label: 'decoder-layers', buffers, passes, outputs },
    decode: (results) => results.map((bytes) => new Float32Array(bytes)),
  }
}
