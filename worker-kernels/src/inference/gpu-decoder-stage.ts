/**
 * A `DecoderStage` on the GPU, through any `KernelRunner` (a kernel host in this thread,
 * a Web Worker's client, a Node child process). Each `forward` is ONE `decoder-layers`
 * call (embedding, every layer of the stage, nothing read back in between), so a stage
 * in a worker pays one `postMessage` round trip per step, not one per op.
 *
 * The KV cache lives on the host, per layer `[positions, kvHeads, headDim]` f32: it
 * travels with each call as inputs and the call's new key/value rows come back and are
 * appended. Weights are uploaded with every call too. Both are what a persistent device
 * buffer (resident weights and cache) would remove next; for small and mid-size stages
 * the upload is a fraction of the round trip.
 */
import { type DecoderConfig, type DecoderTensorRole, decoderTensorNames } from '@tabswarm/protocol'
import { errorFromAbort } from '../host/call-deadline.ts'
import type { KernelRunner } from '../host/kernel-runner.ts'
import type { KernelRunOptions } from '../host/kernel-types.ts'
import type { FloatData, FloatDtype } from '../kernels/common/float-dtype.ts'
import {
  type DecoderCompute,
  type DecoderComputeOption,
  selectDecoderCompute,
} from '../kernels/transformer/decoder-compute.ts'
import type {
  DecoderLayersRequest,
  DecoderLayerTensors,
} from '../kernels/transformer/transformer-requests.ts'
import { fromFloat16 } from '../reference/float16.ts'
import { assertLayerRange } from '../reference/layer-range.ts'
import type {
  DecoderStage,
  DecoderStageOptions,
  StageKvCache,
  StageWeight,
} from './decoder-stage.ts'
import { topLogitsOf } from './top-logits.ts'

/** Options of `createGpuDecoderStage`. */
export type GpuDecoderStageOptions = DecoderStageOptions & {
  /**
   * Features enabled on the runner's device (`HostInfo.deviceFeatures`): with
   * `shader-f16` and float16 weights the projections multiply in f16. Without them the
   * stage computes in f32, as it does on a device that lacks the feature.
   * @default []
   */
  features?: readonly string[]
  /**
   * The projections' arithmetic (`DecoderLayersRequest.compute`): `auto` takes f16
   * products where `features` and the weights allow, `float32` forces f32 everywhere.
   * @default 'auto'
   */
  compute?: DecoderComputeOption
}

/** Host-side keys and values of one sequence, per layer of the stage. */
class GpuKvCache implements StageKvCache {
  readonly owner: object
  readonly rowWidth: number
  keys: Float32Array[]
  values: Float32Array[]
  #length = 0

  constructor(owner: object, layers: number, rowWidth: number) {
    this.owner = owner
    this.rowWidth = rowWidth
    this.keys = Array.from({ length: layers }, () => new Float32Array(0))
    this.values = Array.from({ length: layers }, () => new Float32Array(0))
  }

  get length(): number {
    return this.#length
  }

  truncate(length: number): void {
    if (!(Number.isInteger(length) && length >= 0 && length <= this.#length)) {
      throw new RangeError(`cannot truncate a cache of ${this.#length} positions to ${length}`)
    }
    this.#length = length
  }

  /** The cached rows of layer `index`, exactly `length` of them (a copy sized to send). */
  past(index: number): { keys: Float32Array; values: Float32Array } {
    const count = this.#length * this.rowWidth
    return {
      keys: (this.keys[index] as Float32Array).slice(0, count),
      values: (this.values[index] as Float32Array).slice(0, count),
    }
  }

  /** Append `rows` new rows per layer (`keys[i]`, `values[i]` each `[rows, rowWidth]`). */
  append(keys: Float32Array[], values: Float32Array[], rows: number): void {
    const used = this.#length * this.rowWidth
    const needed = used + rows * this.rowWidth
    for (let i = 0; i < this.keys.length; i++) {
      for (const store of [this.keys, this.values]) {
        const current = store[i] as Float32Array
        if (current.length < needed) {
          const grown = new Float32Array(Math.max(needed, current.length * 2))
          grown.set(current.subarray(0, used))
          store[i] = grown
        }
      }
      ;(this.keys[i] as Float32Array).set(keys[i] as Float32Array, used)
      ;(this.values[i] as Float32Array).set(values[i] as Float32Array, used)
    }
    this.#length += rows
  }
}

/**
 * Bind a GPU stage: layers `fromLayer … toLayer − 1` of `config` with their weights,
 * running on `runner`. Throws `RangeError` naming a missing or mis-sized tensor (the
 * messages `createDecoderReference` gives). Weights all in f16 stay f16 on the way to the
 * GPU; a mix of f16 and f32 is decoded to f32. f16 weights on a device whose `features`
 * include `shader-f16` are multiplied in f16 in the projections (f32 sums, everything
 * else f32) and `stage.compute` says `float16`: the same rule (`selectDecoderCompute`)
 * the verifier uses to pick the bound (`decoderTolerance`). Every call asks the runner
 * for exactly that arithmetic, so a runner whose device lacks the feature refuses
 * (`KernelLimitError`) instead of computing in something other than what was reported.
 *
 * @example
 * const stage = createGpuDecoderStage(host, { config, fromLayer: 0, toLayer: 2, weights })
 * const hidden = await stage.forward({ tokens: Int32Array.of(1, 2) }, stage.createCache())
 */
export function createGpuDecoderStage(
  runner: KernelRunner,
  options: GpuDecoderStageOptions,
): DecoderStage {
  const { config, fromLayer, toLayer, weights } = options
  assertLayerRange(config.layers, fromLayer, toLayer)
  const first = fromLayer === 0
  const last = toLayer === config.layers
  const bound = bindWeights(config, fromLayer, toLayer, weights, first, last)
  // Throws KernelShapeError / KernelLimitError for a `compute` the weights or features refuse.
  const compute: DecoderCompute = selectDecoderCompute(
    bound.dtype,
    options.features ?? [],
    options.compute ?? 'auto',
  )
  const kvDim = config.kvHeads * config.headDim
  const hidden = config.hiddenSize
  const stageLayers = toLayer - fromLayer
  const self = {}
  let destroyed = false
  const live = (options?: KernelRunOptions) => {
    if (destroyed) throw new Error('the decoder stage was destroyed: create a new one')
    if (options?.signal?.aborted) throw errorFromAbort(options.signal.reason)
  }
  const cacheOf = (cache: StageKvCache): GpuKvCache => {
    if (!(cache instanceof GpuKvCache) || cache.owner !== self)
      throw new TypeError('the cache was not made by this stage: use stage.createCache()')
    return cache
  }
  const checkContext = (start: number, rows: number) => {
    if (start + rows > config.maxPositions)
      throw new RangeError(
        `positions ${start}…${start + rows - 1} run past the model's context of ${config.maxPositions}: truncate the cache or start a new sequence`,
      )
  }

  return {
    config,
    fromLayer,
    toLayer,
    compute,
    createCache: () => new GpuKvCache(self, stageLayers, kvDim),
    async forward(input, cache, runOptions) {
      live(runOptions)
      const kv = cacheOf(cache)
      const start = kv.length
      let rows: number
      const request: DecoderLayersRequest = {
        kernel: 'decoder-layers',
        config,
        start,
        rows: 0,
        dtype: bound.dtype,
        compute,
        layers: [],
      }
      if ('tokens' in input) {
        if (!first)
          throw new RangeError(`stage ${fromLayer}…${toLayer} takes activations, not tokens`)
        const { tokens } = input
        if (!(tokens instanceof Int32Array) || tokens.length < 1)
          throw new RangeError('tokens must be a non-empty Int32Array')
        for (const token of tokens) {
          if (token < 0 || token >= config.vocabSize)
            throw new RangeError(
              `token ${token} is outside the vocabulary 0…${config.vocabSize - 1}`,
            )
        }
        rows = tokens.length
        request.tokens = tokens
        if (bound.embed !== undefined) request.global = bound.embed
      } else {
        if (first) throw new RangeError('the first stage takes tokens, not activations')
        const { x } = input
        rows = x instanceof Float32Array ? x.length / hidden : Number.NaN
        if (!Number.isInteger(rows) || rows < 1)
          throw new RangeError(
            `x holds ${x instanceof Float32Array ? x.length : 'no Float32Array of'} values, not whole rows of ${hidden}`,
          )
        request.x = x
      }
      checkContext(start, rows)
      request.rows = rows
      request.layers = bound.layers.map((tensors, i) => {
        const past = kv.past(i)
        return { tensors, pastKeys: past.keys, pastValues: past.values }
      })
      const results = await runner.run(request, runOptions)
      // The cache may have been truncated while the call ran; it must still end at `start`.
      if (kv.length !== start)
        throw new Error('the cache changed while the step ran: run one step at a time per cache')
      const [out, ...kvRows] = results
      if (out === undefined || kvRows.length !== 2 * stageLayers)
        throw new Error(
          `decoder-layers returned ${results.length} results, not ${1 + 2 * stageLayers}`,
        )
      kv.append(
        kvRows.filter((_, i) => i % 2 === 0),
        kvRows.filter((_, i) => i % 2 === 1),
        rows,
      )
      return out
    },
    async topLogits(row, count, runOptions) {
      live(runOptions)
      if (!last || bound.head === undefined)
        throw new RangeError(`stage ${fromLayer}…${toLayer} does not end the model: it has no head`)
      if (!(row instanceof Float32Array) || row.length !== hidden)
        throw new RangeError(
          `hidden holds ${row instanceof Float32Array ? row.length : 'no Float32Array of'} values, not one row of ${hidden}`,
        )
      const results = await runner.run(
        {
          kernel: 'decoder-layers',
          config,
          start: 0,
          rows: 1,
          x: row,
          layers: [],
          global: bound.head,
          head: true,
          dtype: bound.dtype,
          compute,
        },
        runOptions,
      )
      const logits = results[1]
      if (logits === undefined || logits.length !== config.vocabSize)
        throw new Error(`decoder-layers returned no logits of ${config.vocabSize} values`)
      return topLogitsOf(logits, count)
    },
    destroy() {
      destroyed = true
    },
  }
}

type BoundWeights = {
  dtype: FloatDtype
  /** Per layer of the stage, its tensors by role. */
  layers: DecoderLayerTensors[]
  /** The embeddings (first stage). */
  embed: DecoderLayerTensors | undefined
  /** The final norm and LM head (last stage; the tied embedding as `lm-head`). */
  head: DecoderLayerTensors | undefined
}

/**
 * Look up and size-check every tensor the stage needs (as `createDecoderReference` does,
 * with its messages), keyed by role for the kernel.
 */
function bindWeights(
  config: DecoderConfig,
  fromLayer: number,
  toLayer: number,
  weights: DecoderStageOptions['weights'],
  first: boolean,
  last: boolean,
): BoundWeights {
  const found: { role: DecoderTensorRole; layer: number | null; weight: StageWeight }[] = []
  for (const spec of decoderTensorNames(config)) {
    if (spec.layer !== null) {
      if (spec.layer < fromLayer || spec.layer >= toLayer) continue
    } else {
      const needed =
        spec.role === 'token-embedding'
          ? first || (last && config.tiedEmbeddings)
          : spec.role === 'position-embedding'
            ? first
            : last
      if (!needed) continue
    }
    const weight = weights.get(spec.name)
    const length = spec.shape.reduce((a, b) => a * b, 1)
    if (weight === undefined) {
      throw new RangeError(
        `the model has no tensor '${spec.name}' (${spec.role}): the weights and config.json disagree`,
      )
    }
    const ok =
      (weight.dtype === 'float32' && weight.data instanceof Float32Array) ||
      (weight.dtype === 'float16' && weight.data instanceof Uint16Array)
    if (!ok) {
      throw new RangeError(
        `tensor '${spec.name}' says ${weight.dtype} but holds a ${weight.data?.constructor?.name}: f32 values go in a Float32Array, f16 bits in a Uint16Array`,
      )
    }
    if (weight.data.length !== length) {
      throw new RangeError(
        `tensor '${spec.name}' holds ${weight.data.length} values, not the ${length} of shape [${spec.shape}] config.json implies: the weights and config.json disagree`,
      )
    }
    found.push({ role: spec.role, layer: spec.layer, weight })
  }
  // The kernel takes one storage format; a mixed checkpoint runs in f32.
  const dtype: FloatDtype = found.every(({ weight }) => weight.dtype === 'float16')
    ? 'float16'
    : 'float32'
  const dataOf = (weight: StageWeight): FloatData =>
    dtype === 'float16' || weight.dtype === 'float32' ? weight.data : fromFloat16(weight.data)
  const layers: DecoderLayerTensors[] = Array.from({ length: toLayer - fromLayer }, () => ({}))
  const embed: DecoderLayerTensors = {}
  const head: DecoderLayerTensors = {}
  for (const { role, layer, weight } of found) {
    const data = dataOf(weight)
    if (layer !== null) (layers[layer - fromLayer] as DecoderLayerTensors)[role] = data
    else if (role === 'token-embedding' || role === 'position-embedding') {
      if (role === 'position-embedding' || first) embed[role] = data
      if (role === 'token-embedding' && last && config.tiedEmbeddings) head['lm-head'] = data
    } else head[role] = data
  }
  return {
    dtype,
    layers,
    embed: first ? embed : undefined,
    head: last ? head : undefined,
  }
}
