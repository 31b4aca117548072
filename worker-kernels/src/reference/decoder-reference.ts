/**
 * A CPU reference forward pass of a GPT-2-style or Llama-style decoder, in f64: the
 * oracle that GPU stages, pipeline shards and whole generations are checked against.
 *
 * The API follows the sharded pipeline: `decoderEmbed` (first shard), `decoderRunLayers` on a layer range
 * with that range's KV cache (every shard), `decoderHead` (last shard). A verifier recomputes one
 * shard's stage alone from its input activations; a whole model is the three in a row
 * (`DecoderSession` does that for generation, with `prefill` and `step`).
 *
 * Everything accumulates in f64 from the weights' values (f32, or f16 decoded exactly), so
 * the reference's own rounding error is ~1e-15 of the logits' scale (measured against an
 * independent numpy pass), far below any GPU's: what a comparison sees is the GPU's error.
 *
 * Why the transformer kernel references (`attentionReference`, `layerNormReference`, …) are
 * not called here: they take kernel requests, whose operands are f32 or f16 arrays, so each
 * intermediate activation would be rounded to f32 between stages, and they compute a
 * per-element tolerance model a forward pass does not use. The arithmetic is the same
 * (biased variance, ε inside the square root, max-subtracted softmax, `gelu`'s tanh form).
 */
import { type DecoderConfig, type DecoderTensorRole, decoderTensorNames } from '@tabswarm/protocol'
import {
  appendKv,
  createDecoderKvCache,
  type DecoderKvCache,
  kvCacheLength,
} from './decoder-kv-cache.ts'
import { assertLayerRange } from './layer-range.ts'

/** Weights as the reference reads them: a float view per tensor name, f16 decoded. */
export type DecoderWeightArray = Float32Array | Float64Array

/**
 * Looks up a tensor by the name `decoderTensorNames` gives it (a checkpoint's own name,
 * through `canonicalTensorName`); `undefined` if the model lacks it.
 */
export type DecoderWeightLookup = (name: string) => DecoderWeightArray | undefined

/** One layer's tensors by role, checked for size; biases and family-specific ones may be absent. */
type LayerWeights = Partial<Record<DecoderTensorRole, DecoderWeightArray>>

/**
 * A decoder bound to its weights: the `state` every stage function takes. Build it with
 * `createDecoderReference`, which checks every tensor is present and of the right size.
 */
export type DecoderReference = {
  readonly config: DecoderConfig
  /** The layers bound: `fromLayer … toLayer − 1`. */
  readonly fromLayer: number
  readonly toLayer: number
  /** Tensors outside the layers (embeddings, final norm, LM head), by role. */
  readonly global: LayerWeights
  /** Per layer (`undefined` outside the bound range), its tensors by role. */
  readonly layers: readonly (LayerWeights | undefined)[]
  /** RoPE inverse frequencies θ^(−2i/d), `headDim / 2` of them; empty for learned positions. */
  readonly inverseFrequencies: Float64Array
}

/**
 * Bind `config` to `weights`, checking that every tensor `decoderTensorNames(config)` lists
 * exists with the element count of its shape (a model file can lie about both). A shard
 * binds only what it holds: tensors of layers outside `fromLayer … toLayer − 1` are not
 * looked up, the embeddings only when the range starts at layer 0, the final norm and LM
 * head only when it ends at the last layer (a tied head is the token embedding).
 *
 * @example
 * const model = createDecoderReference(config, (name) => tensors.get(name))
 */
export function createDecoderReference(
  config: DecoderConfig,
  weights: DecoderWeightLookup,
  fromLayer = 0,
  toLayer = config.layers,
): DecoderReference {
  assertLayerRange(config.layers, fromLayer, toLayer)
  const first = fromLayer === 0
  const last = toLayer === config.layers
  const global: LayerWeights = {}
  const layers: (LayerWeights | undefined)[] = Array.from(
    { length: config.layers },
    () => undefined,
  )
  for (const spec of decoderTensorNames(config)) {
    let into: LayerWeights
    if (spec.layer !== null) {
      if (spec.layer < fromLayer || spec.layer >= toLayer) continue
      into = layers[spec.layer] ??= {}
    } else {
      const needed =
        spec.role === 'token-embedding'
          ? first || (last && config.tiedEmbeddings)
          : spec.role === 'position-embedding'
            ? first
            : last
      if (!needed) continue
      into = global
    }
    const array = weights(spec.name)
    const length = spec.shape.reduce((a, b) => a * b, 1)
    if (array === undefined) {
      throw new RangeError(
        `the model has no tensor '${spec.name}' (${spec.role}): the weights and config.json disagree`,
      )
    }
    if (array.length !== length) {
      throw new RangeError(
        `tensor '${spec.name}' holds ${array.length} values, not the ${length} of shape [${spec.shape}] config.json implies: the weights and config.json disagree`,
      )
    }
    into[spec.role] = array
  }
  const tied = global['token-embedding']
  if (last && config.tiedEmbeddings && tied !== undefined) global['lm-head'] = tied
  const half = config.positions === 'rotary' ? config.headDim / 2 : 0
  const theta = config.ropeTheta ?? 1
  return {
    config,
    fromLayer,
    toLayer,
    global,
    layers,
    inverseFrequencies: Float64Array.from(
      { length: half },
      (_, i) => theta ** (-(2 * i) / config.headDim),
    ),
  }
}

/**
 * Token embeddings of `tokens` (plus learned positions for gpt2): `[tokens, hidden]`.
 * Needs the model bound from layer 0.
 */
export function decoderEmbed(
  model: DecoderReference,
  tokens: ArrayLike<number>,
  positions: ArrayLike<number>,
): Float64Array {
  const { hiddenSize: hidden, vocabSize: vocab, maxPositions } = model.config
  const table = model.fromLayer === 0 ? model.global['token-embedding'] : undefined
  if (table === undefined) {
    throw new RangeError('embed needs the token embedding: bind the model from layer 0')
  }
  checkPositions(positions, tokens.length, maxPositions)
  const learned = model.global['position-embedding']
  const out = new Float64Array(tokens.length * hidden)
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t] as number
    if (!Number.isInteger(token) || token < 0 || token >= vocab) {
      throw new RangeError(`token ${token} is outside the vocabulary 0…${vocab - 1}`)
    }
    const row = token * hidden
    const p = (positions[t] as number) * hidden
    for (let c = 0; c < hidden; c++) {
      out[t * hidden + c] =
        (table[row + c] as number) + (learned === undefined ? 0 : (learned[p + c] as number))
    }
  }
  return out
}

/**
 * Run layers `fromLayer … toLayer − 1` over `hidden` (`[positions.length, hidden]`, the
 * residual stream entering `fromLayer`), appending each layer's keys and values to
 * `kvCache`, and return the residual stream leaving `toLayer − 1`. `positions` must
 * continue each layer's cache: row i is at position `kvCacheLength(kvCache, layer) + i`.
 * `hidden` is not modified.
 */
export function decoderRunLayers(
  model: DecoderReference,
  fromLayer: number,
  toLayer: number,
  hidden: Float64Array,
  positions: ArrayLike<number>,
  kvCache: DecoderKvCache,
): Float64Array {
  const { config } = model
  const rows = positions.length
  if (!(Number.isInteger(fromLayer) && Number.isInteger(toLayer)) || fromLayer > toLayer) {
    throw new RangeError(`layer range ${fromLayer}…${toLayer} is not a range`)
  }
  if (hidden.length !== rows * config.hiddenSize) {
    throw new RangeError(
      `hidden holds ${hidden.length} values, not ${rows} positions × ${config.hiddenSize}`,
    )
  }
  checkPositions(positions, rows, config.maxPositions)
  if (kvCache.kvHeads !== config.kvHeads || kvCache.headDim !== config.headDim) {
    throw new RangeError(
      `the KV cache holds ${kvCache.kvHeads} heads of ${kvCache.headDim}, the model ${config.kvHeads} of ${config.headDim}: create the cache from this model's config`,
    )
  }
  const x = Float64Array.from(hidden)
  for (let l = fromLayer; l < toLayer; l++) {
    const w = model.layers[l]
    if (w === undefined) {
      throw new RangeError(
        `layer ${l} is not bound (the model holds ${model.fromLayer}…${model.toLayer - 1}): bind the layers the stage runs`,
      )
    }
    const cached = kvCacheLength(kvCache, l)
    for (let i = 0; i < rows; i++) {
      if (positions[i] !== cached + i) {
        throw new RangeError(
          `position ${positions[i]} of row ${i} does not continue layer ${l}'s KV cache of ${cached} positions (expected ${cached + i})`,
        )
      }
    }
    // Pre-norm blocks: x += attention(norm(x)); x += mlp(norm(x)).
    const a = normalize(config, x, rows, need(w, 'attention-norm-weight'), w['attention-norm-bias'])
    const attended = attention(model, l, w, a, rows, cached, kvCache)
    const projected = linear(
      attended,
      rows,
      config.heads * config.headDim,
      need(w, 'attention-output-weight'),
      config.hiddenSize,
      w['attention-output-bias'],
      layout(config),
    )
    for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) + (projected[i] as number)
    const b = normalize(config, x, rows, need(w, 'mlp-norm-weight'), w['mlp-norm-bias'])
    const mlp = feedForward(config, w, b, rows)
    for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) + (mlp[i] as number)
  }
  return x
}

/**
 * Final norm and LM head: logits `[rows, vocab]` for the rows of `hidden` (the residual
 * stream leaving the last layer). Needs the model bound through the last layer.
 */
export function decoderHead(model: DecoderReference, hidden: Float64Array): Float64Array {
  const { config } = model
  const lmHead = model.global['lm-head']
  if (model.toLayer !== config.layers || lmHead === undefined) {
    throw new RangeError('head needs the LM head: bind the model through the last layer')
  }
  if (hidden.length === 0 || hidden.length % config.hiddenSize !== 0) {
    throw new RangeError(
      `hidden holds ${hidden.length} values, not a positive multiple of ${config.hiddenSize}`,
    )
  }
  const rows = hidden.length / config.hiddenSize
  const normed = normalize(
    config,
    hidden,
    rows,
    need(model.global, 'final-norm-weight'),
    model.global['final-norm-bias'],
  )
  // The LM head (or the tied embedding) is [vocab, hidden]: out×in in both families.
  return linear(normed, rows, config.hiddenSize, lmHead, config.vocabSize, undefined, 'out-in')
}

/**
 * A generation over a whole model with its KV cache: `prefill` the prompt, then `step`
 * one token at a time. Each returns the logits of the last position (`vocab` values).
 *
 * @example
 * const session = new DecoderSession(model)
 * let logits = session.prefill(prompt)
 * logits = session.step(greedyToken(logits))
 */
export class DecoderSession {
  readonly model: DecoderReference
  readonly cache: DecoderKvCache

  constructor(model: DecoderReference) {
    if (model.fromLayer !== 0 || model.toLayer !== model.config.layers) {
      throw new RangeError('a DecoderSession needs the whole model: bind every layer')
    }
    this.model = model
    this.cache = createDecoderKvCache(model.config)
  }

  /** Positions the session has seen. */
  get length(): number {
    return kvCacheLength(this.cache, 0)
  }

  /** Feed `tokens` (at least one) after what the session has seen; the logits of the last. */
  prefill(tokens: ArrayLike<number>): Float64Array {
    if (tokens.length === 0) throw new RangeError('prefill needs at least one token')
    const start = this.length
    const positions = Array.from({ length: tokens.length }, (_, i) => start + i)
    const x = decoderEmbed(this.model, tokens, positions)
    const y = decoderRunLayers(this.model, 0, this.model.config.layers, x, positions, this.cache)
    return decoderHead(this.model, y.subarray((tokens.length - 1) * this.model.config.hiddenSize))
  }

  /** Feed one token; its logits. */
  step(token: number): Float64Array {
    return this.prefill([token])
  }
}

function need(weights: LayerWeights, role: DecoderTensorRole): DecoderWeightArray {
  const array = weights[role]
  if (array === undefined) throw new RangeError(`the ${role} tensor is not bound`)
  return array
}

/** gpt2 stores its projections as Conv1D (`[in, out]`); llama as Linear (`[out, in]`). */
function layout(config: DecoderConfig): 'in-out' | 'out-in' {
  return config.family === 'gpt2' ? 'in-out' : 'out-in'
}

function checkPositions(positions: ArrayLike<number>, rows: number, maxPositions: number): void {
  if (positions.length !== rows) {
    throw new RangeError(`${positions.length} positions for ${rows} rows: give one per row`)
  }
  if (rows === 0) throw new RangeError('a stage needs at least one position')
  for (let i = 0; i < rows; i++) {
    const p = positions[i] as number
    if (!Number.isInteger(p) || p < 0 || p >= maxPositions) {
      throw new RangeError(`position ${p} is outside the model's context 0…${maxPositions - 1}`)
    }
  }
}

/** `x·W (+ bias)` for `rows` rows of `inDim` values, W in either layout, accumulated in f64. */
function linear(
  x: Float64Array,
  rows: number,
  inDim: number,
  w: DecoderWeightArray,
  outDim: number,
  bias: DecoderWeightArray | undefined,
  order: 'in-out' | 'out-in',
): Float64Array {
  const y = new Float64Array(rows * outDim)
  for (let r = 0; r < rows; r++) {
    const xr = r * inDim
    const yr = r * outDim
    if (order === 'out-in') {
      for (let o = 0; o < outDim; o++) {
        let sum = 0
        const wo = o * inDim
        for (let i = 0; i < inDim; i++) sum += (x[xr + i] as number) * (w[wo + i] as number)
        y[yr + o] = sum
      }
    } else {
      for (let i = 0; i < inDim; i++) {
        const xi = x[xr + i] as number
        const wi = i * outDim
        for (let o = 0; o < outDim; o++) {
          y[yr + o] = (y[yr + o] as number) + xi * (w[wi + o] as number)
        }
      }
    }
    if (bias !== undefined) {
      for (let o = 0; o < outDim; o++) y[yr + o] = (y[yr + o] as number) + (bias[o] as number)
    }
  }
  return y
}

/**
 * LayerNorm (biased variance, ε inside the root, as PyTorch) or RMSNorm
 * (`x / √(mean(x²) + ε) · γ`, as Hugging Face's Llama) of each row.
 */
function normalize(
  config: DecoderConfig,
  x: Float64Array,
  rows: number,
  gamma: DecoderWeightArray,
  beta: DecoderWeightArray | undefined,
): Float64Array {
  const n = config.hiddenSize
  const eps = config.normEpsilon
  const y = new Float64Array(rows * n)
  for (let r = 0; r < rows; r++) {
    const base = r * n
    let mean = 0
    if (config.norm === 'layernorm') {
      for (let c = 0; c < n; c++) mean += x[base + c] as number
      mean /= n
    }
    let squares = 0
    for (let c = 0; c < n; c++) squares += ((x[base + c] as number) - mean) ** 2
    const s = 1 / Math.sqrt(squares / n + eps)
    for (let c = 0; c < n; c++) {
      const v = ((x[base + c] as number) - mean) * s * (gamma[c] as number)
      y[base + c] = beta === undefined ? v : v + (beta[c] as number)
    }
  }
  return y
}

/**
 * Causal self-attention of `rows` new positions (after `cached` ones) in layer `l`:
 * project q, k, v; rotate q and k (rotary positions); append k and v to the cache; attend
 * each query head to its key/value head (each run of `heads / kvHeads` query heads shares
 * one, as Hugging Face's `repeat_kv`). Returns `[rows, heads·headDim]`, heads side by side
 * as the output projection reads them.
 */
function attention(
  model: DecoderReference,
  l: number,
  w: LayerWeights,
  a: Float64Array,
  rows: number,
  cached: number,
  cache: DecoderKvCache,
): Float64Array {
  const { config } = model
  const { hiddenSize: hidden, heads, kvHeads, headDim } = config
  const qDim = heads * headDim
  const kvDim = kvHeads * headDim
  let q: Float64Array
  let k: Float64Array
  let v: Float64Array
  const fused = w['qkv-weight']
  if (fused !== undefined) {
    // GPT-2's c_attn (Conv1D) gives [q | k | v] side by side in each row.
    const width = qDim + 2 * kvDim
    const qkv = linear(a, rows, hidden, fused, width, w['qkv-bias'], 'in-out')
    q = new Float64Array(rows * qDim)
    k = new Float64Array(rows * kvDim)
    v = new Float64Array(rows * kvDim)
    for (let r = 0; r < rows; r++) {
      const base = r * width
      q.set(qkv.subarray(base, base + qDim), r * qDim)
      k.set(qkv.subarray(base + qDim, base + qDim + kvDim), r * kvDim)
      v.set(qkv.subarray(base + qDim + kvDim, base + width), r * kvDim)
    }
  } else {
    const order = layout(config)
    q = linear(a, rows, hidden, need(w, 'q-weight'), qDim, undefined, order)
    k = linear(a, rows, hidden, need(w, 'k-weight'), kvDim, undefined, order)
    v = linear(a, rows, hidden, need(w, 'v-weight'), kvDim, undefined, order)
  }
  if (config.positions === 'rotary') {
    for (let r = 0; r < rows; r++) {
      const position = cached + r
      for (let h = 0; h < heads; h++) rotate(q, r * qDim + h * headDim, position, model)
      for (let h = 0; h < kvHeads; h++) rotate(k, r * kvDim + h * headDim, position, model)
    }
  }
  appendKv(cache, l, k, v, rows)
  const keys = cache.keys[l - cache.fromLayer] as Float64Array
  const values = cache.values[l - cache.fromLayer] as Float64Array
  const group = heads / kvHeads
  const scale = 1 / Math.sqrt(headDim)
  const out = new Float64Array(rows * qDim)
  const p = new Float64Array(cached + rows)
  for (let r = 0; r < rows; r++) {
    const seen = cached + r + 1 // causal: keys 0 … its own position
    for (let h = 0; h < heads; h++) {
      const qBase = r * qDim + h * headDim
      const kvHead = Math.floor(h / group) * headDim
      let top = Number.NEGATIVE_INFINITY
      for (let j = 0; j < seen; j++) {
        const kBase = j * kvDim + kvHead
        let dot = 0
        for (let t = 0; t < headDim; t++) {
          dot += (q[qBase + t] as number) * (keys[kBase + t] as number)
        }
        p[j] = dot * scale
        top = Math.max(top, dot * scale)
      }
      let sum = 0
      for (let j = 0; j < seen; j++) {
        p[j] = Math.exp((p[j] as number) - top)
        sum += p[j] as number
      }
      for (let j = 0; j < seen; j++) {
        const weight = (p[j] as number) / sum
        const vBase = j * kvDim + kvHead
        for (let t = 0; t < headDim; t++) {
          out[qBase + t] = (out[qBase + t] as number) + weight * (values[vBase + t] as number)
        }
      }
    }
  }
  return out
}

/**
 * Rotary position embedding of one head's `headDim` values at `offset`, in place, as
 * Hugging Face's Llama applies it ("rotate half", `q·cos + rotate_half(q)·sin`): dimension
 * i pairs with i + headDim/2, at angle position·θ^(−2i/headDim).
 */
function rotate(x: Float64Array, offset: number, position: number, model: DecoderReference): void {
  const half = model.inverseFrequencies.length
  for (let i = 0; i < half; i++) {
    const angle = position * (model.inverseFrequencies[i] as number)
    const cos = Math.cos(angle)
    const sin = Math.sin(angle)
    const a = x[offset + i] as number
    const b = x[offset + i + half] as number
    x[offset + i] = a * cos - b * sin
    x[offset + i + half] = b * cos + a * sin
  }
}

const GELU_C = Math.sqrt(2 / Math.PI)

/** gelu: `down(gelu_new(up(x)))` (GPT-2); swiglu: `down(silu(gate(x)) · up(x))` (Llama). */
function feedForward(
  config: DecoderConfig,
  w: LayerWeights,
  x: Float64Array,
  rows: number,
): Float64Array {
  const { hiddenSize: hidden, intermediateSize: inner } = config
  const order = layout(config)
  const up = linear(x, rows, hidden, need(w, 'mlp-up-weight'), inner, w['mlp-up-bias'], order)
  if (config.mlp === 'gelu') {
    for (let i = 0; i < up.length; i++) {
      const v = up[i] as number
      up[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v)))
    }
  } else {
    const gate = linear(x, rows, hidden, need(w, 'mlp-gate-weight'), inner, undefined, order)
    for (let i = 0; i < up.length; i++) {
      const g = gate[i] as number
      up[i] = (g / (1 + Math.exp(-g))) * (up[i] as number)
    }
  }
  return linear(up, rows, inner, need(w, 'mlp-down-weight'), hidden, w['mlp-down-bias'], order)
}
