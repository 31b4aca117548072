import { alignedViewAs } from '@tabswarm/protocol'
import {
  compareActivations,
  compareTopLogits,
  createDecoderKvCache,
  createDecoderReference,
  createTopLogitsSampler,
  type DecoderKvCache,
  type DecoderReference,
  decoderEmbed,
  decoderHead,
  decoderRunLayers,
  decoderTolerance,
  fromFloat16,
  kvCacheLength,
  promptSampling,
  type TopLogitsResult,
  topLogitsOf,
  truncateKvCache,
} from '@tabswarm/worker-kernels'
import type { ResultTensor } from '../coordinator-api.ts'
import { batchPrompts, type InferenceInputs, pipelinePlace, stepRows } from './inference-inputs.ts'

/**
 * Checks decoder results within a tolerance, never bit for bit (floating point differs
 * across GPUs): against the relay's own CPU recomputation (`checkDecoderResult`, f64, the
 * KV cache rebuilt from the accepted prefix), or against another contributor's replica
 * (`decoderResultsAgree`). The tolerance comes from the format the contributor computes in,
 * the stage's layers and its context (`decoderTolerance`).
 */

/** The arithmetic a contributor's matmuls run in: f16 only on `shader-f16` with f16 weights. */
export type DecoderCompute = 'float32' | 'float16'

export type DecoderCheck =
  | { ok: true; flops: number }
  | { ok: false; reason: string; flops: number }

/** The CPU reference of stage `s` (batch: the whole model), its weights decoded once per job. */
function referenceOf(inputs: InferenceInputs, s: number): DecoderReference {
  let model = inputs.references.get(s)
  if (model == null) {
    const { weights } = inputs
    const stage = inputs.stages[s]!
    const decoded = new Map<string, Float32Array>()
    for (const name of stage.tensors) {
      const range = weights.tensors.get(name)!
      const bytes = weights.files
        .get(range.blob)!
        .subarray(range.byteOffset, range.byteOffset + range.byteLength)
      decoded.set(
        name,
        range.dtype === 'float32'
          ? Float32Array.from(alignedViewAs('float32', bytes))
          : fromFloat16(alignedViewAs('float16', bytes)),
      )
    }
    model = createDecoderReference(
      weights.config,
      (name) => decoded.get(name),
      stage.fromLayer,
      stage.toLayer,
    )
    inputs.references.set(s, model)
  }
  return model
}

const positions = (start: number, rows: number) => Array.from({ length: rows }, (_, i) => start + i)

/** Runs `input` (int32 tokens on the first stage, else f32 rows) through a stage's layers. */
function runStage(
  model: DecoderReference,
  kv: DecoderKvCache,
  input: Uint8Array,
  start: number,
): Float64Array {
  const { fromLayer, toLayer, config } = model
  if (fromLayer === 0) {
    const tokens = alignedViewAs('int32', input)
    const at = positions(start, tokens.length)
    return decoderRunLayers(model, fromLayer, toLayer, decoderEmbed(model, tokens, at), at, kv)
  }
  const x = alignedViewAs('float32', input)
  const rows = x.length / config.hiddenSize
  return decoderRunLayers(
    model,
    fromLayer,
    toLayer,
    Float64Array.from(x),
    positions(start, rows),
    kv,
  )
}

const topOf = (ids: Uint8Array, logits: Uint8Array): TopLogitsResult => ({
  ids: alignedViewAs('int32', ids),
  logits: alignedViewAs('float32', logits),
})

function toleranceOf(inputs: InferenceInputs, index: number, compute: DecoderCompute): number {
  const config = inputs.spec.model.config
  if (inputs.spec.mode === 'batch')
    return decoderTolerance(config, {
      layers: config.layers,
      kvLength: config.maxPositions,
      compute,
    })
  const place = pipelinePlace(inputs, index)
  const stage = inputs.stages[place.stage]!
  const { start, rows } = stepRows(inputs.sequences[place.sequence]!.prompt, place.step)
  return decoderTolerance(config, {
    layers: stage.toLayer - stage.fromLayer,
    kvLength: start + rows,
    compute,
  })
}

/**
 * Recomputes task `index` on the CPU and compares: a pipeline stage replays its accepted
 * prefix into a fresh KV cache, runs the step's input and compares `hidden` per row (or the
 * last stage's top logits); a batch is recomputed teacher-forced (the contributor's own
 * tokens fed back), each position's top logits compared, and each token checked to be the
 * sampler's draw from the contributor's logits (which must be the reference's, within
 * tolerance): up to near ties, exactly the reference's choice. Call only while the task is
 * its sequence's current one (its input and prefix are the job's).
 */
export function checkDecoderResult(
  inputs: InferenceInputs,
  index: number,
  outputs: readonly ResultTensor[],
  compute: DecoderCompute,
): DecoderCheck {
  const tolerance = toleranceOf(inputs, index, compute)
  const config = inputs.spec.model.config
  const k = inputs.topLogits
  if (inputs.spec.mode === 'batch') {
    const model = referenceOf(inputs, 0)
    const { first, end } = batchPrompts(inputs, index)
    const steps = inputs.spec.maxNewTokens
    const tokens = alignedViewAs('int32', outputs[0]!.bytes)
    const ids = alignedViewAs('int32', outputs[1]!.bytes)
    const logits = alignedViewAs('float32', outputs[2]!.bytes)
    let flops = 0
    for (let p = first; p < end; p++) {
      const b = p - first
      const prompt = inputs.sequences[p]!.prompt
      const choose = createTopLogitsSampler(promptSampling(inputs.sampling, p))
      const kv = createDecoderKvCache(config)
      let input: Int32Array = prompt
      let length = 0
      let ended = false
      for (let t = 0; t < steps; t++) {
        const at = (b * steps + t) * k
        const token = tokens[b * steps + t] as number
        const ran = (ids[at] as number) >= 0
        if (ended || length + input.length > config.maxPositions) {
          if (token !== -1 || ran)
            return {
              ok: false,
              reason: `prompt ${p}: position ${t} after the sequence ended`,
              flops,
            }
          ended = true
          continue
        }
        if (!ran)
          return {
            ok: false,
            reason: `prompt ${p}: generation stopped early at position ${t}`,
            flops,
          }
        const hidden = runStage(
          model,
          kv,
          new Uint8Array(input.buffer, input.byteOffset, input.byteLength),
          length,
        )
        length += input.length
        flops += 2 * inputs.weights.parameters * input.length
        const row = hidden.subarray(hidden.length - config.hiddenSize)
        const reference = topLogitsOf(decoderHead(model, row), k)
        const theirs = { ids: ids.subarray(at, at + k), logits: logits.subarray(at, at + k) }
        const compared = compareTopLogits(theirs, reference, tolerance)
        if (!compared.ok)
          return { ok: false, reason: `prompt ${p}, token ${t}: ${compared.problem}`, flops }
        const choice = choose(theirs)
        if (inputs.stop.has(choice)) {
          if (token !== -1)
            return {
              ok: false,
              reason: `prompt ${p}, token ${t}: the draw is stop token ${choice}, not ${token}`,
              flops,
            }
          ended = true
          continue
        }
        if (choice !== token)
          return {
            ok: false,
            reason: `prompt ${p}, token ${t}: the draw is ${choice}, not ${token}`,
            flops,
          }
        input = Int32Array.of(token)
      }
    }
    return { ok: true, flops }
  }
  const place = pipelinePlace(inputs, index)
  const seq = inputs.sequences[place.sequence]!
  const stage = inputs.stages[place.stage]!
  const model = referenceOf(inputs, place.stage)
  const input = seq.pending[place.stage]
  if (input == null)
    return { ok: false, reason: `task ${index} is not its sequence's current step`, flops: 0 }
  const { start, rows } = stepRows(seq.prompt, place.step)
  // The relay's own KV cache of the sequence at this stage, kept from its last check: it
  // holds the reference's keys and values of the accepted inputs, whoever computed them.
  // Rebuilt from the accepted prefix when it lags (no check since), cut back when it is
  // ahead (this step was checked before, and rejected).
  const key = `${place.sequence}/${place.stage}`
  let kv = inputs.relayCaches.get(key)
  let replayed = 0
  const held = kv == null ? -1 : kvCacheLength(kv, stage.fromLayer)
  if (kv == null || held < start) {
    kv = createDecoderKvCache(config, stage.fromLayer, stage.toLayer)
    for (const chunk of seq.history[place.stage]!)
      runStage(model, kv, chunk, kvCacheLength(kv, stage.fromLayer))
    replayed = start
    inputs.relayCaches.set(key, kv)
  } else if (held > start) truncateKvCache(kv, start)
  const hidden = runStage(model, kv, input.bytes, start)
  const flops = 2 * stage.parameters * (replayed + rows)
  if (stage.toLayer < config.layers) {
    const compared = compareActivations(
      alignedViewAs('float32', outputs[0]!.bytes),
      Float32Array.from(hidden),
      config.hiddenSize,
      tolerance,
    )
    return compared.ok
      ? { ok: true, flops }
      : {
          ok: false,
          reason: `hidden row ${compared.worstRow} off by ${compared.worstError.toExponential(2)} of its RMS (tolerance ${tolerance.toExponential(2)})`,
          flops,
        }
  }
  const reference = topLogitsOf(
    decoderHead(model, hidden.subarray((rows - 1) * config.hiddenSize)),
    k,
  )
  const compared = compareTopLogits(
    topOf(outputs[0]!.bytes, outputs[1]!.bytes),
    reference,
    tolerance,
  )
  return compared.ok
    ? { ok: true, flops }
    : { ok: false, reason: `top logits: ${compared.problem}`, flops }
}

/** Whether two contributors' results of task `index` are the same answer within tolerance. */
export function decoderResultsAgree(
  inputs: InferenceInputs,
  index: number,
  x: readonly ResultTensor[],
  y: readonly ResultTensor[],
  compute: DecoderCompute,
): boolean {
  if (x.length !== y.length) return false
  const tolerance = toleranceOf(inputs, index, compute)
  const config = inputs.spec.model.config
  const k = inputs.topLogits
  if (inputs.spec.mode === 'batch') {
    const a = alignedViewAs('int32', x[0]!.bytes)
    const b = alignedViewAs('int32', y[0]!.bytes)
    if (a.length !== b.length || a.some((v, i) => v !== b[i])) return false
    const ia = alignedViewAs('int32', x[1]!.bytes)
    const ib = alignedViewAs('int32', y[1]!.bytes)
    const la = alignedViewAs('float32', x[2]!.bytes)
    const lb = alignedViewAs('float32', y[2]!.bytes)
    for (let at = 0; at < ia.length; at += k) {
      if ((ia[at] as number) < 0 || (ib[at] as number) < 0) {
        if (ia[at] !== ib[at]) return false
        continue
      }
      const compared = compareTopLogits(
        { ids: ia.subarray(at, at + k), logits: la.subarray(at, at + k) },
        { ids: ib.subarray(at, at + k), logits: lb.subarray(at, at + k) },
        tolerance,
      )
      if (!compared.ok) return false
    }
    return true
  }
  if (x.length === 1)
    return compareActivations(
      alignedViewAs('float32', x[0]!.bytes),
      alignedViewAs('float32', y[0]!.bytes),
      config.hiddenSize,
      tolerance,
    ).ok
  return compareTopLogits(
    topOf(x[0]!.bytes, x[1]!.bytes),
    topOf(y[0]!.bytes, y[1]!.bytes),
    tolerance,
  ).ok
}
