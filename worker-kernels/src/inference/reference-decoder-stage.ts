/**
 * A `DecoderStage` on the CPU, in f64 (`decoder-reference.ts`): what the verifier
 * recomputes a stage with, and what tests stand in for a GPU with. Slow (a plain loop per
 * multiply-add), exact to ~1e-15 of the logits' scale.
 */

import {
  createDecoderKvCache,
  type DecoderKvCache,
  truncateKvCache,
} from '../reference/decoder-kv-cache.ts'
import {
  createDecoderReference,
  decoderEmbed,
  decoderHead,
  decoderRunLayers,
} from '../reference/decoder-reference.ts'
import { fromFloat16 } from '../reference/float16.ts'
import type { DecoderStage, DecoderStageOptions, StageKvCache } from './decoder-stage.ts'
import { topLogitsOf } from './top-logits.ts'

class ReferenceKvCache implements StageKvCache {
  readonly cache: DecoderKvCache
  constructor(cache: DecoderKvCache) {
    this.cache = cache
  }
  get length(): number {
    return this.cache.lengths[0] as number
  }
  truncate(length: number): void {
    truncateKvCache(this.cache, length)
  }
}

/**
 * Bind a CPU stage. Throws `RangeError` naming a missing or mis-sized tensor.
 *
 * @example
 * const stage = createReferenceDecoderStage({ config, fromLayer: 0, toLayer: 2, weights })
 * const hidden = await stage.forward({ tokens: Int32Array.of(1, 2) }, stage.createCache())
 */
export function createReferenceDecoderStage(options: DecoderStageOptions): DecoderStage {
  const { config, fromLayer, toLayer, weights } = options
  const decoded = new Map<string, Float32Array>()
  const lookup = (name: string) => {
    let array = decoded.get(name)
    if (array === undefined) {
      const weight = weights.get(name)
      if (weight === undefined) return undefined
      array = weight.dtype === 'float32' ? weight.data : fromFloat16(weight.data)
      decoded.set(name, array)
    }
    return array
  }
  const model = createDecoderReference(config, lookup, fromLayer, toLayer)
  const last = toLayer === config.layers
  let destroyed = false
  const live = () => {
    if (destroyed) throw new Error('the decoder stage was destroyed')
  }
  const cacheOf = (cache: StageKvCache): DecoderKvCache => {
    if (!(cache instanceof ReferenceKvCache))
      throw new TypeError('the cache was not made by this stage: use stage.createCache()')
    return cache.cache
  }
  return {
    config,
    fromLayer,
    toLayer,
    compute: 'float32',
    createCache: () => new ReferenceKvCache(createDecoderKvCache(config, fromLayer, toLayer)),
    async forward(input, cache, runOptions) {
      live()
      runOptions?.signal?.throwIfAborted()
      const kv = cacheOf(cache)
      const start = cache.length
      let hidden: Float64Array
      let rows: number
      if ('tokens' in input) {
        if (fromLayer !== 0)
          throw new RangeError(`stage ${fromLayer}…${toLayer} takes activations, not tokens`)
        rows = input.tokens.length
        hidden = decoderEmbed(model, input.tokens, positions(start, rows))
      } else {
        if (fromLayer === 0) throw new RangeError('the first stage takes tokens, not activations')
        rows = input.x.length / config.hiddenSize
        if (!Number.isInteger(rows) || rows < 1)
          throw new RangeError(
            `x holds ${input.x.length} values, not whole rows of ${config.hiddenSize}`,
          )
        hidden = Float64Array.from(input.x)
      }
      const out = decoderRunLayers(model, fromLayer, toLayer, hidden, positions(start, rows), kv)
      return Float32Array.from(out)
    },
    async topLogits(hidden, count, runOptions) {
      live()
      runOptions?.signal?.throwIfAborted()
      if (!last)
        throw new RangeError(`stage ${fromLayer}…${toLayer} does not end the model: it has no head`)
      return topLogitsOf(decoderHead(model, Float64Array.from(hidden)), count)
    },
    destroy() {
      destroyed = true
    },
  }
}

const positions = (start: number, rows: number) => Array.from({ length: rows }, (_, i) => start + i)
