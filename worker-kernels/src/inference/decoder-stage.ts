/**
 * A pipeline stage of a decoder as the contributor runs it: layers `fromLayer … toLayer − 1`
 * bound to their weights, with the embedding when it starts at layer 0 and the final norm
 * and LM head when it ends at the last layer. The GPU implementation (`createGpuDecoderStage`)
 * and the CPU one (`createReferenceDecoderStage`, the verifier's and the tests') both fit it,
 * so the contributor's executor, batch generation and the verifier are written once.
 */
import type { DecoderConfig } from '@tabswarm/protocol'
import type { KernelRunOptions } from '../host/kernel-types.ts'

/** One weight tensor: f32 values, or f16 as its bits. */
export type StageWeight =
  | { dtype: 'float32'; data: Float32Array }
  | { dtype: 'float16'; data: Uint16Array }

/** A stage's weights by canonical tensor name (`decoderTensorNames`). */
export type StageWeights = ReadonlyMap<string, StageWeight>

/** What binds a stage: the model, its layer range and its weights. */
export type DecoderStageOptions = {
  config: DecoderConfig
  fromLayer: number
  toLayer: number
  weights: StageWeights
}

/**
 * The keys and values a stage has seen for one sequence, on whatever holds them (the GPU
 * implementation keeps them where its kernels read them).
 */
export interface StageKvCache {
  /** Positions held (the same for every layer of the stage). */
  readonly length: number
  /** Forget every position from `length` on (a replay after a rejected step). */
  truncate(length: number): void
}

/** The largest logits of one position, largest first, ties to the lower id. */
export type TopLogitsResult = { ids: Int32Array; logits: Float32Array }

/** The input of `forward`: token ids for a stage that starts at layer 0, else activations. */
export type StageInput = { tokens: Int32Array } | { x: Float32Array }

export interface DecoderStage {
  readonly config: DecoderConfig
  readonly fromLayer: number
  readonly toLayer: number
  /**
   * The arithmetic its matmuls compute in: `float16` only on the `shader-f16` path (f16
   * weights, f16 products); what `decoderTolerance` judges its results by.
   */
  readonly compute: 'float32' | 'float16'
  /** An empty cache for one sequence. */
  createCache(): StageKvCache
  /**
   * Run `rows` new positions, `cache.length …`, through the stage: embed `tokens` (first
   * stage) or take `x` (`[rows, hiddenSize]`), append their keys and values to `cache`, and
   * resolve to the residual stream leaving the stage, `[rows, hiddenSize]` f32.
   */
  forward(input: StageInput, cache: StageKvCache, options?: KernelRunOptions): Promise<Float32Array>
  /**
   * The final norm and LM head on one row of the residual stream leaving the last layer
   * (`hiddenSize` values): its `count` largest logits. Last stage only.
   */
  topLogits(
    hidden: Float32Array,
    count: number,
    options?: KernelRunOptions,
  ): Promise<TopLogitsResult>
  /** Frees what the stage holds (device buffers); later calls reject. */
  destroy(): void
}
