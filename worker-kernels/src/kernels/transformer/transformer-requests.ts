import type { DecoderConfig, DecoderTensorRole } from '@tabswarm/protocol'
import type { FloatData, FloatDtype } from '../common/float-dtype.ts'
import type { DecoderComputeOption } from './decoder-compute.ts'

/**
 * `y = (x − mean) / √(var + ε) · gamma + beta` over each row of `x` (`rows×cols`,
 * row-major); mean and variance are per row (biased variance, as PyTorch).
 */
export type LayerNormRequest = {
  kernel: 'layer-norm'
  x: FloatData
  /** `cols` scales. */
  gamma: FloatData
  /** `cols` shifts. */
  beta: FloatData
  rows: number
  cols: number
  /** @default 1e-5 */
  epsilon?: number
  /** @default 'float32' */
  dtype?: FloatDtype
}

/** `y = x / √(mean(x²) + ε) · gamma` over each row of `x` (`rows×cols`). */
export type RmsNormRequest = {
  kernel: 'rms-norm'
  x: FloatData
  /** `cols` scales. */
  gamma: FloatData
  rows: number
  cols: number
  /** @default 1e-6 */
  epsilon?: number
  /** @default 'float32' */
  dtype?: FloatDtype
}

/** Row-wise softmax of `x` (`rows×cols`), stable: `exp(x − max(row)) / Σ`. */
export type SoftmaxRequest = {
  kernel: 'softmax'
  x: FloatData
  rows: number
  cols: number
  /** @default 'float32' */
  dtype?: FloatDtype
}

/** Row-wise reduction of `x` (`rows×cols`) to `rows` values. */
export type ReduceRequest = {
  kernel: 'reduce'
  op: 'sum' | 'max'
  x: FloatData
  rows: number
  cols: number
  /** @default 'float32' */
  dtype?: FloatDtype
}

/**
 * Scaled dot-product attention per head: `softmax(Q·Kᵀ·scale + mask)·V`, with Q, K, V
 * and the output laid out `[heads, seqLen, headDim]` row-major. With `causal`, query i
 * attends to keys 0..i only.
 */
export type AttentionRequest = {
  kernel: 'attention'
  /** Queries, `[heads, seqLen, headDim]`. */
  q: FloatData
  /** Keys, `[kvHeads, kvLen, headDim]`. */
  k: FloatData
  /** Values, `[kvHeads, kvLen, headDim]`. */
  v: FloatData
  heads: number
  /** Query rows per head. */
  seqLen: number
  /** At most `MAX_ATTENTION_HEAD_DIM` (256). */
  headDim: number
  /**
   * Key and value rows per head: above `seqLen` when decoding against a KV cache, the
   * queries being the last `seqLen` positions of the `kvLen` (so with `causal`, query i
   * sees keys `0 … i + kvLen − seqLen`). With `causal` it may not be below `seqLen`.
   * @default seqLen
   */
  kvLen?: number
  /**
   * Key/value heads, dividing `heads` (grouped-query attention: each run of
   * `heads / kvHeads` query heads shares one; 1 is multi-query attention).
   * @default heads
   */
  kvHeads?: number
  /** @default true */
  causal?: boolean
  /** @default 1/√headDim */
  scale?: number
  /** @default 'float32' */
  dtype?: FloatDtype
}

/**
 * Gather rows of an embedding table: `out[t, :] = table[ids[t], :]`, `table` being
 * `vocab×dim`. Every id must be in `[0, vocab)`.
 */
export type EmbeddingRequest = {
  kernel: 'embedding'
  table: FloatData
  ids: Int32Array | Uint32Array
  vocab: number
  dim: number
  /** dtype of the table and the result. @default 'float32' */
  dtype?: FloatDtype
}

/**
 * Rotary position embedding, rotate-half (Hugging Face's Llama): in each head of `x`
 * (`[rows, heads, headDim]`), dimension k < headDim/2 pairs with k + headDim/2 and both
 * turn by `positions[row]·θ^(−2k/headDim)`: `(a, b) → (a·cos − b·sin, b·cos + a·sin)`.
 */
export type RopeRequest = {
  kernel: 'rope'
  x: FloatData
  /** One position per row, each a non-negative integer. */
  positions: Int32Array | Uint32Array
  heads: number
  /** Even, at most `MAX_ATTENTION_HEAD_DIM`. */
  headDim: number
  /** θ, the base of the inverse frequencies (Llama: 10000). */
  theta: number
  /** @default 'float32' */
  dtype?: FloatDtype
}

/** SwiGLU's gating, `y = silu(gate)·up = gate·σ(gate)·up`, elementwise over equal lengths. */
export type SwigluRequest = {
  kernel: 'swiglu'
  gate: FloatData
  up: FloatData
  /** @default 'float32' */
  dtype?: FloatDtype
}

/** A layer's tensors by `decoderTensorRole`, stored in the request's `dtype`. */
export type DecoderLayerTensors = Partial<Record<DecoderTensorRole, FloatData>>

/**
 * Layers of a decoder (and optionally its final norm and LM head) over `rows` new
 * positions `start … start + rows − 1`, fused into one GPU program: embed `tokens` (or
 * take `x`), then per layer norm, QKV, rotary, attention against the cached keys and
 * values, output projection, norm, MLP, both residual adds, with nothing read back in
 * between. The arithmetic is `decoder-reference.ts`'s, in f32 (the projections in f16
 * products on the `shader-f16` path, see `compute`).
 *
 * Resolves to `Float32Array`s: the residual stream leaving the last layer
 * (`[rows, hidden]`), then per layer its new keys and values (`[rows, kvHeads·headDim]`
 * each, rotated), then with `head` the logits of the last row (`vocab`).
 */
export type DecoderLayersRequest = {
  kernel: 'decoder-layers'
  config: DecoderConfig
  /** Positions already cached (each layer's `pastKeys` holds that many rows). */
  start: number
  rows: number
  /** The residual stream entering the first layer, `[rows, hidden]`; or `tokens`. */
  x?: Float32Array
  /** Token ids to embed (`token-embedding`, plus `position-embedding` for learned positions). */
  tokens?: Int32Array
  /** Tensors outside the layers by role: the embeddings with `tokens`; `final-norm-*` and `lm-head` with `head`. */
  global?: DecoderLayerTensors
  layers: {
    tensors: DecoderLayerTensors
    /** Keys of positions `0 … start − 1`, `[start, kvHeads·headDim]` f32, rotated. */
    pastKeys: Float32Array
    pastValues: Float32Array
  }[]
  /** Also the final norm and LM head on the last row. @default false */
  head?: boolean
  /** Storage format of every tensor (activations are f32). @default 'float32' */
  dtype?: FloatDtype
  /**
   * Arithmetic of the projections (every other op is f32): `auto` multiplies float16
   * weights in f16 (f32 sums) where the device has `shader-f16`, in f32 elsewhere;
   * `float32` forces f32 (the tighter bound on every device); `float16` insists
   * (`KernelLimitError` without `shader-f16`). `selectDecoderCompute(dtype,
   * host.info.deviceFeatures)` says which `auto` picks.
   * @default 'auto'
   */
  compute?: DecoderComputeOption
}
