import type { FloatData, FloatDtype } from '../common/float-dtype.ts'

/** The activations `activation` computes elementwise. */
export type ActivationOp = 'gelu' | 'silu' | 'relu'

/**
 * `y = op(x)` elementwise. `gelu` is the tanh approximation (GPT-2, BERT's
 * `gelu_new`): `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`; `silu` is `x·σ(x)`.
 */
export type ActivationRequest = {
  kernel: 'activation'
  op: ActivationOp
  x: FloatData
  /** @default 'float32' */
  dtype?: FloatDtype
}

/** `y[r, c] = x[r, c] + bias[c]`: `x` is `rows×cols` row-major, `bias` has `cols` elements. */
export type BiasAddRequest = {
  kernel: 'bias-add'
  x: FloatData
  bias: FloatData
  rows: number
  cols: number
  /** @default 'float32' */
  dtype?: FloatDtype
}

/** `y = x + residual`, elementwise over equal lengths. */
export type ResidualAddRequest = {
  kernel: 'residual-add'
  x: FloatData
  residual: FloatData
  /** @default 'float32' */
  dtype?: FloatDtype
}
