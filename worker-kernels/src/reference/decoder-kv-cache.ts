/**
 * The keys and values a decoder's attention layers have seen, for the CPU reference
 * (`decoder-reference.ts`). A cache covers a contiguous range of layers, as a pipeline
 * shard holds only its own; each layer keeps its own length, so a forward pass split into
 * layer ranges (`decoderRunLayers(0, k)` then `decoderRunLayers(k, L)`) fills one cache layer by layer.
 */
import { assertLayerRange } from './layer-range.ts'

/** Keys and values of layers `fromLayer … toLayer − 1`, in f64, grown on demand. */
export type DecoderKvCache = {
  readonly fromLayer: number
  readonly toLayer: number
  readonly kvHeads: number
  readonly headDim: number
  /** Most positions a layer may hold (the model's context length). */
  readonly maxPositions: number
  /** Per layer of the range: keys, `[position, kvHeads, headDim]` row-major. */
  keys: Float64Array[]
  /** Per layer of the range: values, laid out as `keys`. */
  values: Float64Array[]
  /** Per layer of the range: how many positions it holds. */
  lengths: number[]
}

/** What `createDecoderKvCache` needs to know of the model. */
export type KvCacheShape = {
  layers: number
  kvHeads: number
  headDim: number
  maxPositions: number
}

/** Positions allocated up front; the arrays double from there up to `maxPositions`. */
const INITIAL_POSITIONS = 16

/**
 * An empty cache for layers `fromLayer … toLayer − 1` (all layers by default). It starts
 * small and doubles as positions arrive, so a short generation from a long-context model
 * does not allocate the whole context up front.
 */
export function createDecoderKvCache(
  shape: KvCacheShape,
  fromLayer = 0,
  toLayer = shape.layers,
): DecoderKvCache {
  if (!(Number.isInteger(fromLayer) && Number.isInteger(toLayer))) {
    throw new RangeError(`layer range ${fromLayer}…${toLayer} must be integers`)
  }
  assertLayerRange(shape.layers, fromLayer, toLayer)
  const count = toLayer - fromLayer
  const stride = shape.kvHeads * shape.headDim
  const initial = Math.min(INITIAL_POSITIONS, shape.maxPositions) * stride
  return {
    fromLayer,
    toLayer,
    kvHeads: shape.kvHeads,
    headDim: shape.headDim,
    maxPositions: shape.maxPositions,
    keys: Array.from({ length: count }, () => new Float64Array(initial)),
    values: Array.from({ length: count }, () => new Float64Array(initial)),
    lengths: new Array<number>(count).fill(0),
  }
}

/** Positions layer `layer` of `cache` holds. Throws if the cache does not cover it. */
export function kvCacheLength(cache: DecoderKvCache, layer: number): number {
  return cache.lengths[slot(cache, layer)] as number
}

/**
 * Append `rows` positions of keys and values (each `[rows, kvHeads, headDim]`) to layer
 * `layer`, growing its arrays as needed. Throws past `maxPositions`.
 */
export function appendKv(
  cache: DecoderKvCache,
  layer: number,
  keys: Float64Array,
  values: Float64Array,
  rows: number,
): void {
  const i = slot(cache, layer)
  const stride = cache.kvHeads * cache.headDim
  const length = cache.lengths[i] as number
  const needed = length + rows
  if (needed > cache.maxPositions) {
    throw new RangeError(
      `the KV cache of layer ${layer} would hold ${needed} positions, over the model's ${cache.maxPositions}: shorten the prompt or maxTokens`,
    )
  }
  let k = cache.keys[i] as Float64Array
  let v = cache.values[i] as Float64Array
  if (needed * stride > k.length) {
    let positions = k.length / stride
    while (positions < needed) positions *= 2
    positions = Math.min(positions, cache.maxPositions)
    const grownK = new Float64Array(positions * stride)
    const grownV = new Float64Array(positions * stride)
    grownK.set(k.subarray(0, length * stride))
    grownV.set(v.subarray(0, length * stride))
    cache.keys[i] = k = grownK
    cache.values[i] = v = grownV
  }
  k.set(keys.subarray(0, rows * stride), length * stride)
  v.set(values.subarray(0, rows * stride), length * stride)
  cache.lengths[i] = needed
}

/**
 * Forget every position from `length` on, in every layer of the cache: to replay a prefix
 * after a shard is reassigned, or to branch a generation.
 */
export function truncateKvCache(cache: DecoderKvCache, length: number): void {
  if (!Number.isInteger(length) || length < 0) {
    throw new RangeError(`KV cache length ${length} must be a non-negative integer`)
  }
  for (let i = 0; i < cache.lengths.length; i++) {
    cache.lengths[i] = Math.min(cache.lengths[i] as number, length)
  }
}

function slot(cache: DecoderKvCache, layer: number): number {
  if (!Number.isInteger(layer) || layer < cache.fromLayer || layer >= cache.toLayer) {
    throw new RangeError(
      `layer ${layer} is outside this KV cache's layers ${cache.fromLayer}…${cache.toLayer - 1}: create the cache for the range the stage runs`,
    )
  }
  return layer - cache.fromLayer
}
