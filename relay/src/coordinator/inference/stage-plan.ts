import { type DecoderConfig, MAX_STAGE_TENSORS, MAX_STAGES } from '@tabswarm/protocol'
import { CoordinatorError } from '../coordinator-error.ts'
import { type ModelWeights, stageTensorNames } from './model-weights.ts'

/** One pipeline stage: a contiguous range of layers and the weights it binds. */
export interface StagePlan {
  fromLayer: number
  toLayer: number
  /** Canonical tensor names, in the order a lease names them `w0 … wN`. */
  tensors: string[]
  weightBytes: number
  /** Bytes of its largest weight tensor: what one storage binding must hold. */
  largestTensorBytes: number
  /** Parameters it binds: what a position through it costs, at about 2 flops each. */
  parameters: number
}

/**
 * Bytes a stage holds on a contributor besides its weights, for the longest sequence the
 * model allows: its KV cache (f32 keys and values of every layer for `maxPositions`) and
 * the activations of a prefill of `rows` positions (residual stream, attention scores, MLP),
 * with the logits when it ends the model.
 */
export function stageWorkingBytes(
  config: DecoderConfig,
  layers: number,
  rows: number,
  last: boolean,
): number {
  const kv = 2 * layers * config.kvHeads * config.headDim * config.maxPositions * 4
  const perRow = 4 * config.hiddenSize + 2 * config.intermediateSize + config.heads * rows
  return kv + 4 * rows * perRow + (last ? 4 * config.vocabSize : 0)
}

/** What one contributor must hold to run a stage: its weights, KV cache and activations. */
export const stageBytes = (config: DecoderConfig, stage: StagePlan, rows: number): number =>
  stage.weightBytes +
  stageWorkingBytes(config, stage.toLayer - stage.fromLayer, rows, stage.toLayer === config.layers)

function stageOf(weights: ModelWeights, fromLayer: number, toLayer: number): StagePlan {
  const tensors = stageTensorNames(weights.config, fromLayer, toLayer)
  let weightBytes = 0
  let largestTensorBytes = 0
  let parameters = 0
  for (const name of tensors) {
    const range = weights.tensors.get(name)!
    weightBytes += range.byteLength
    largestTensorBytes = Math.max(largestTensorBytes, range.byteLength)
    parameters += range.shape.reduce((a, b) => a * b, 1)
  }
  if (tensors.length > MAX_STAGE_TENSORS)
    throw new CoordinatorError(
      'INVALID_JOB',
      `layers ${fromLayer}…${toLayer - 1} bind ${tensors.length} tensors, over the ${MAX_STAGE_TENSORS} one task may; split the model into more stages`,
    )
  return { fromLayer, toLayer, tensors, weightBytes, largestTensorBytes, parameters }
}

/**
 * Splits the layers into `count` contiguous stages whose weight bytes are as even as a
 * contiguous split allows (the first stage carries the embeddings, the last the head): each
 * boundary goes where the running total of weight bytes comes closest to its share.
 */
export function splitStages(weights: ModelWeights, count: number): StagePlan[] {
  const { config } = weights
  const layers = config.layers
  if (!(Number.isInteger(count) && count >= 1 && count <= Math.min(layers, MAX_STAGES)))
    throw new CoordinatorError(
      'INVALID_JOB',
      `${count} stages cannot split ${layers} layers (1 to ${Math.min(layers, MAX_STAGES)})`,
    )
  // Weight bytes of each layer, with the embeddings on layer 0 and the head on the last.
  const perLayer = Array.from({ length: layers }, (_, layer) => {
    let bytes = 0
    for (const name of stageTensorNames(config, layer, layer + 1))
      bytes += weights.tensors.get(name)!.byteLength
    return bytes
  })
  // prefix[i]: weight bytes of layers 0 … i − 1.
  const prefix = [0]
  for (const bytes of perLayer) prefix.push(prefix.at(-1)! + bytes)
  const total = prefix[layers]!
  const bounds = [0]
  for (let b = 1; b < count; b++) {
    // The cut closest to this boundary's share, leaving every stage at least one layer.
    const target = (total * b) / count
    let best = bounds.at(-1)! + 1
    for (let i = best + 1; i <= layers - (count - b); i++)
      if (Math.abs(prefix[i]! - target) < Math.abs(prefix[best]! - target)) best = i
    bounds.push(best)
  }
  bounds.push(layers)
  const stages: StagePlan[] = []
  for (let s = 0; s + 1 < bounds.length; s++)
    stages.push(stageOf(weights, bounds[s]!, bounds[s + 1]!))
  return stages
}

/**
 * As few stages as fit `memoryBytes` each (weights, KV cache and a prefill of `rows`
 * positions), split evenly by weight bytes. Refuses naming the largest stage and what it
 * needs when even one layer a stage does not fit.
 */
export function stagesForMemory(
  weights: ModelWeights,
  memoryBytes: number,
  rows: number,
): StagePlan[] {
  const { config } = weights
  let last: StagePlan[] = []
  for (let count = 1; count <= Math.min(config.layers, MAX_STAGES); count++) {
    last = splitStages(weights, count)
    if (last.every((stage) => stageBytes(config, stage, rows) <= memoryBytes)) return last
  }
  const worst = last.reduce((a, b) =>
    stageBytes(config, a, rows) >= stageBytes(config, b, rows) ? a : b,
  )
  throw new CoordinatorError(
    'INVALID_JOB',
    `the model does not fit the contributors' memory (${memoryBytes} bytes) even split into ${last.length} stages: layers ${worst.fromLayer}…${worst.toLayer - 1} need ${stageBytes(config, worst, rows)} bytes`,
  )
}
