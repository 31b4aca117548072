/**
 * The decoder architectures Tabswarm runs, normalised from Hugging Face `config.json`.
 * GPT-2 and Llama name the same ideas differently (`n_embd` vs `hidden_size`) and differ
 * in a handful of choices (norm, positions, MLP, biases); `DecoderConfig` spells those
 * choices out so that kernels, the CPU reference and the shard planner read one shape.
 * `parseHfConfig` refuses, by name, every option it does not implement rather than run a
 * model that would silently produce different tokens.
 */
import { z } from 'zod'
import { ModelFormatError } from './model-format-error.ts'

/**
 * Caps on every size a config can state. A `config.json` is untrusted: these bound the
 * memory a loader sizes from it before any weight is read. They admit every public
 * GPT-2 and Llama-family model up to 70B-class shapes.
 */
export const DECODER_LIMITS = {
  maxVocabSize: 262_144,
  maxHiddenSize: 16_384,
  maxLayers: 256,
  maxHeads: 256,
  maxHeadDim: 512,
  maxIntermediateSize: 65_536,
  maxPositions: 1_048_576,
  maxRopeTheta: 1e9,
  maxNormEpsilon: 0.1,
} as const

const positiveInt = (max: number) => z.number().int().positive().max(max)
const tokenId = z.number().int().nonnegative().nullable()

/** The normalised architecture of a decoder-only transformer. */
export const DecoderConfigSchema = z
  .object({
    /**
     * `gpt2`: LayerNorm, learned positions, GELU MLP, biases on every linear layer and
     * norm, fused QKV stored as Conv1D (`[in, out]`). `llama`: RMSNorm, rotary positions
     * (rotate-half convention), SwiGLU MLP, no biases, linear weights as `[out, in]`.
     */
    family: z.enum(['gpt2', 'llama']),
    vocabSize: positiveInt(DECODER_LIMITS.maxVocabSize),
    hiddenSize: positiveInt(DECODER_LIMITS.maxHiddenSize),
    layers: positiveInt(DECODER_LIMITS.maxLayers),
    /** Query heads. */
    heads: positiveInt(DECODER_LIMITS.maxHeads),
    /** Key/value heads; fewer than `heads` is grouped-query attention (`heads % kvHeads == 0`). */
    kvHeads: positiveInt(DECODER_LIMITS.maxHeads),
    /** Width of one head; `heads * headDim` is usually, not always, `hiddenSize`. */
    headDim: positiveInt(DECODER_LIMITS.maxHeadDim),
    /** Width of the MLP's inner layer. */
    intermediateSize: positiveInt(DECODER_LIMITS.maxIntermediateSize),
    /** Longest sequence (prompt plus generated tokens) the model was trained for. */
    maxPositions: positiveInt(DECODER_LIMITS.maxPositions),
    norm: z.enum(['layernorm', 'rmsnorm']),
    normEpsilon: z.number().positive().max(DECODER_LIMITS.maxNormEpsilon),
    positions: z.enum(['learned', 'rotary']),
    /** Rotary base frequency; `null` for learned positions. */
    ropeTheta: z.number().positive().max(DECODER_LIMITS.maxRopeTheta).nullable(),
    /**
     * `gelu` is the tanh approximation (`gelu_new`, `gelu_pytorch_tanh`), which GPT-2 uses;
     * `swiglu` is `down(silu(gate(x)) * up(x))`.
     */
    mlp: z.enum(['gelu', 'swiglu']),
    /** Whether the LM head reuses the token embedding (then no separate head tensor). */
    tiedEmbeddings: z.boolean(),
    bosTokenId: tokenId,
    eosTokenId: tokenId,
  })
  .superRefine((c, ctx) => {
    if (c.heads % c.kvHeads !== 0)
      ctx.addIssue({
        code: 'custom',
        path: ['kvHeads'],
        message: 'heads must be a multiple of kvHeads',
      })
    if (c.positions === 'rotary' && (c.ropeTheta === null || c.headDim % 2 !== 0))
      ctx.addIssue({
        code: 'custom',
        path: ['ropeTheta'],
        message: 'rotary positions need ropeTheta and an even headDim',
      })
    if (c.positions === 'learned' && c.ropeTheta !== null)
      ctx.addIssue({
        code: 'custom',
        path: ['ropeTheta'],
        message: 'learned positions take no ropeTheta',
      })
    for (const key of ['bosTokenId', 'eosTokenId'] as const) {
      const id = c[key]
      if (id !== null && id >= c.vocabSize)
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `${key} ${id} is outside the vocabulary`,
        })
    }
  })

/** The normalised architecture of a decoder-only transformer. */
export type DecoderConfig = z.infer<typeof DecoderConfigSchema>

/** The families of `DecoderConfig`. */
export type DecoderFamily = DecoderConfig['family']

/** `model_type` values read as the Llama family: same tensors, same maths. */
const LLAMA_MODEL_TYPES = ['llama', 'mistral'] as const

type Json = Record<string, unknown>

/**
 * Read a Hugging Face `config.json` (already `JSON.parse`d) into a `DecoderConfig`.
 *
 * Supported: `model_type` `gpt2`, `llama` and `mistral` (Mistral is Llama's tensors and
 * maths; its sliding window is accepted only where it covers every position). Refused
 * by name: other families (Qwen2 has QKV biases, Gemma scales embeddings, ...),
 * `rope_scaling`, attention or MLP biases on Llama, activations other than GELU-tanh
 * for GPT-2 and SiLU for Llama, GPT-2's per-layer attention scaling, and any size past
 * `DECODER_LIMITS`.
 *
 * @throws {ModelFormatError} `INVALID_CONFIG`, `UNSUPPORTED_FAMILY`, `UNSUPPORTED_OPTION`
 *   or `LIMIT_EXCEEDED`, naming the field and the fix.
 * @example
 * const config = parseHfConfig(JSON.parse(await readFile('config.json', 'utf8')))
 */
export function parseHfConfig(json: unknown): DecoderConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ModelFormatError('config.json must be a JSON object.', { code: 'INVALID_CONFIG' })
  const hf = json as Json
  const modelType = hf.model_type
  let config: DecoderConfig
  if (modelType === 'gpt2') config = gpt2Config(hf)
  else if ((LLAMA_MODEL_TYPES as readonly unknown[]).includes(modelType)) config = llamaConfig(hf)
  else
    throw new ModelFormatError(
      `config.json model_type ${JSON.stringify(modelType)} is not a supported decoder family.`,
      {
        code: 'UNSUPPORTED_FAMILY',
        details: `Supported: gpt2, ${LLAMA_MODEL_TYPES.join(', ')}. Use a model of one of these architectures.`,
      },
    )
  return checkConfig(config)
}

/**
 * Validate a `DecoderConfig` (for one that did not come from `parseHfConfig`, e.g. sent
 * over the wire): caps first, so an oversized value is reported as `LIMIT_EXCEEDED`.
 *
 * @throws {ModelFormatError} `LIMIT_EXCEEDED` or `INVALID_CONFIG`.
 */
export function checkConfig(config: unknown): DecoderConfig {
  const parsed = DecoderConfigSchema.safeParse(config)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const field = issue?.path.join('.') ?? '(root)'
  const tooBig = issue?.code === 'too_big'
  throw new ModelFormatError(`Decoder config field ${field}: ${issue?.message}.`, {
    code: tooBig ? 'LIMIT_EXCEEDED' : 'INVALID_CONFIG',
    details: tooBig
      ? `Tabswarm caps model sizes (DECODER_LIMITS); this model is larger than it runs.`
      : 'Fix config.json so that the field holds a valid value for this architecture.',
  })
}

function gpt2Config(hf: Json): DecoderConfig {
  const activation = optional(hf, 'activation_function', 'string') ?? 'gelu_new'
  if (activation !== 'gelu_new' && activation !== 'gelu_pytorch_tanh')
    unsupported(
      'activation_function',
      activation,
      'Only gelu_new (GELU, tanh approximation) is implemented.',
    )
  if (optional(hf, 'scale_attn_by_inverse_layer_idx', 'boolean') === true)
    unsupported(
      'scale_attn_by_inverse_layer_idx',
      true,
      'Only the standard 1/sqrt(headDim) scaling is implemented.',
    )
  if (optional(hf, 'scale_attn_weights', 'boolean') === false)
    unsupported(
      'scale_attn_weights',
      false,
      'Only the standard 1/sqrt(headDim) scaling is implemented.',
    )
  if (optional(hf, 'add_cross_attention', 'boolean') === true)
    unsupported('add_cross_attention', true, 'Only decoder-only models are implemented.')
  const hiddenSize = required(hf, 'n_embd')
  const heads = required(hf, 'n_head')
  const inner = optional(hf, 'n_inner', 'number')
  return {
    family: 'gpt2',
    vocabSize: required(hf, 'vocab_size'),
    hiddenSize,
    layers: required(hf, 'n_layer'),
    heads,
    kvHeads: heads,
    headDim: divide(hiddenSize, heads, 'n_embd', 'n_head'),
    intermediateSize: inner ?? 4 * hiddenSize,
    maxPositions: required(hf, 'n_positions'),
    norm: 'layernorm',
    normEpsilon: optional(hf, 'layer_norm_epsilon', 'number') ?? 1e-5,
    positions: 'learned',
    ropeTheta: null,
    mlp: 'gelu',
    tiedEmbeddings: optional(hf, 'tie_word_embeddings', 'boolean') ?? true,
    bosTokenId: tokenIdField(hf, 'bos_token_id'),
    eosTokenId: tokenIdField(hf, 'eos_token_id'),
  }
}

function llamaConfig(hf: Json): DecoderConfig {
  const activation = optional(hf, 'hidden_act', 'string') ?? 'silu'
  if (activation !== 'silu')
    unsupported('hidden_act', activation, 'Only silu (SwiGLU) is implemented.')
  const ropeScaling = hf.rope_scaling
  if (ropeScaling !== undefined && ropeScaling !== null)
    unsupported(
      'rope_scaling',
      ropeScaling,
      'Only plain rotary positions are implemented; use a model without rope_scaling.',
    )
  for (const bias of ['attention_bias', 'mlp_bias'] as const)
    if (optional(hf, bias, 'boolean') === true)
      unsupported(
        bias,
        true,
        'Llama-family linear layers without biases are implemented, not with.',
      )
  const maxPositions = required(hf, 'max_position_embeddings')
  const window = optional(hf, 'sliding_window', 'number')
  if (window !== undefined && window !== null && window < maxPositions)
    unsupported(
      'sliding_window',
      window,
      `Only full causal attention is implemented; the window must be null or at least max_position_embeddings (${maxPositions}).`,
    )
  const pretraining = optional(hf, 'pretraining_tp', 'number')
  if (pretraining !== undefined && pretraining !== null && pretraining !== 1)
    unsupported('pretraining_tp', pretraining, 'Only pretraining_tp 1 is implemented.')
  const hiddenSize = required(hf, 'hidden_size')
  const heads = required(hf, 'num_attention_heads')
  const kvHeads = optional(hf, 'num_key_value_heads', 'number') ?? heads
  const headDim =
    optional(hf, 'head_dim', 'number') ??
    divide(hiddenSize, heads, 'hidden_size', 'num_attention_heads')
  return {
    family: 'llama',
    vocabSize: required(hf, 'vocab_size'),
    hiddenSize,
    layers: required(hf, 'num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    intermediateSize: required(hf, 'intermediate_size'),
    maxPositions,
    norm: 'rmsnorm',
    normEpsilon: optional(hf, 'rms_norm_eps', 'number') ?? 1e-6,
    positions: 'rotary',
    ropeTheta: optional(hf, 'rope_theta', 'number') ?? 10_000,
    mlp: 'swiglu',
    tiedEmbeddings: optional(hf, 'tie_word_embeddings', 'boolean') ?? false,
    bosTokenId: tokenIdField(hf, 'bos_token_id'),
    eosTokenId: tokenIdField(hf, 'eos_token_id'),
  }
}

function required(hf: Json, key: string): number {
  const value = hf[key]
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new ModelFormatError(
      `config.json field ${key} must be a number, got ${describe(value)}.`,
      {
        code: 'INVALID_CONFIG',
        details: `Add ${key} to config.json as the model's value.`,
      },
    )
  return value
}

function optional(hf: Json, key: string, type: 'number'): number | null | undefined
function optional(hf: Json, key: string, type: 'string'): string | null | undefined
function optional(hf: Json, key: string, type: 'boolean'): boolean | null | undefined
function optional(hf: Json, key: string, type: 'number' | 'string' | 'boolean'): unknown {
  const value = hf[key]
  if (value === undefined || value === null) return value
  if (typeof value !== type || (type === 'number' && !Number.isFinite(value)))
    throw new ModelFormatError(
      `config.json field ${key} must be a ${type}, got ${describe(value)}.`,
      {
        code: 'INVALID_CONFIG',
        details: `Fix or remove ${key} in config.json.`,
      },
    )
  return value
}

/** A token id field; some configs give a list of ids (Llama 3's eos), of which the first is taken. */
function tokenIdField(hf: Json, key: string): number | null {
  const value = hf[key]
  if (value === undefined || value === null) return null
  const first = Array.isArray(value) ? value[0] : value
  if (typeof first !== 'number' || !Number.isInteger(first) || first < 0)
    throw new ModelFormatError(
      `config.json field ${key} must be a token id, got ${describe(value)}.`,
      {
        code: 'INVALID_CONFIG',
        details: `Fix or remove ${key} in config.json.`,
      },
    )
  return first
}

function divide(hidden: number, heads: number, hiddenKey: string, headsKey: string): number {
  if (!Number.isInteger(heads) || heads <= 0 || hidden % heads !== 0)
    throw new ModelFormatError(
      `config.json ${hiddenKey} (${hidden}) is not a multiple of ${headsKey} (${heads}).`,
      {
        code: 'INVALID_CONFIG',
        details: 'Each head must have the same width; fix the sizes in config.json.',
      },
    )
  return hidden / heads
}

function unsupported(key: string, value: unknown, fix: string): never {
  throw new ModelFormatError(`config.json ${key} = ${describe(value)} is not supported.`, {
    code: 'UNSUPPORTED_OPTION',
    details: fix,
  })
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}
