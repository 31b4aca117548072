import type { FloatData, FloatDtype } from '../common/float-dtype.ts'

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
