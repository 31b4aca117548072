/**
 * The tensors each decoder family stores, by their Hugging Face checkpoint names, with
 * the shape the architecture implies and the role each plays. A loader checks that a
 * checkpoint holds exactly these (`checkDecoderTensors`), so a truncated or mislabelled
 * file is refused before any weight reaches a kernel, and a shard planner reads a
 * layer's byte ranges by name.
 *
 * Layouts, as stored (row-major):
 * - GPT-2 (`Conv1D`): linear weights are `[in, out]`, so `y = x @ W + b`; the fused
 *   `c_attn` holds Q, K then V along its output axis.
 * - Llama (`nn.Linear`): linear weights are `[out, in]`, so `y = x @ W^T`; Q and K are
 *   stored for the rotate-half rotary convention (pairs `i` and `i + headDim/2`).
 */
import type { DecoderConfig } from './decoder-config.ts'
import { ModelFormatError } from './model-format-error.ts'

/** What a tensor is for in the forward pass. */
export type DecoderTensorRole =
  | 'token-embedding'
  | 'position-embedding'
  | 'attention-norm-weight'
  | 'attention-norm-bias'
  /** GPT-2's fused `[hidden, 3 * heads * headDim]` projection (Q, K, V along the output axis). */
  | 'qkv-weight'
  | 'qkv-bias'
  | 'q-weight'
  | 'k-weight'
  | 'v-weight'
  | 'attention-output-weight'
  | 'attention-output-bias'
  | 'mlp-norm-weight'
  | 'mlp-norm-bias'
  /** GPT-2's `c_fc`, `[hidden, intermediate]`. */
  | 'mlp-up-weight'
  | 'mlp-up-bias'
  /** Llama's `gate_proj`, `[intermediate, hidden]`, the SiLU branch of SwiGLU. */
  | 'mlp-gate-weight'
  /** GPT-2's `c_proj` `[intermediate, hidden]`; Llama's `down_proj` `[hidden, intermediate]`. */
  | 'mlp-down-weight'
  | 'mlp-down-bias'
  | 'final-norm-weight'
  | 'final-norm-bias'
  /** The LM head `[vocab, hidden]`; absent when the embeddings are tied. */
  | 'lm-head'

/** One tensor a decoder needs: its checkpoint name, shape, role and layer (`null` outside the layers). */
export type DecoderTensorSpec = {
  name: string
  shape: number[]
  role: DecoderTensorRole
  layer: number | null
}

/**
 * Every tensor a model of `config` stores, in forward-pass order: embeddings, each layer,
 * final norm, LM head. Names are the checkpoint's (`h.0.attn.c_attn.weight`,
 * `model.layers.0.self_attn.q_proj.weight`); see `canonicalTensorName` for the prefixes
 * and buffers some checkpoints add.
 *
 * @example
 * decoderTensorNames(config).filter((t) => t.layer === 3) // layer 3's weights
 */
export function decoderTensorNames(config: DecoderConfig): DecoderTensorSpec[] {
  return config.family === 'gpt2' ? gpt2Tensors(config) : llamaTensors(config)
}

function gpt2Tensors(c: DecoderConfig): DecoderTensorSpec[] {
  const h = c.hiddenSize
  const attn = c.heads * c.headDim
  const specs: DecoderTensorSpec[] = [
    { name: 'wte.weight', shape: [c.vocabSize, h], role: 'token-embedding', layer: null },
    { name: 'wpe.weight', shape: [c.maxPositions, h], role: 'position-embedding', layer: null },
  ]
  for (let layer = 0; layer < c.layers; layer++) {
    const p = `h.${layer}.`
    const t = (name: string, shape: number[], role: DecoderTensorRole) =>
      specs.push({ name: p + name, shape, role, layer })
    t('ln_1.weight', [h], 'attention-norm-weight')
    t('ln_1.bias', [h], 'attention-norm-bias')
    t('attn.c_attn.weight', [h, 3 * attn], 'qkv-weight')
    t('attn.c_attn.bias', [3 * attn], 'qkv-bias')
    t('attn.c_proj.weight', [attn, h], 'attention-output-weight')
    t('attn.c_proj.bias', [h], 'attention-output-bias')
    t('ln_2.weight', [h], 'mlp-norm-weight')
    t('ln_2.bias', [h], 'mlp-norm-bias')
    t('mlp.c_fc.weight', [h, c.intermediateSize], 'mlp-up-weight')
    t('mlp.c_fc.bias', [c.intermediateSize], 'mlp-up-bias')
    t('mlp.c_proj.weight', [c.intermediateSize, h], 'mlp-down-weight')
    t('mlp.c_proj.bias', [h], 'mlp-down-bias')
  }
  specs.push({ name: 'ln_f.weight', shape: [h], role: 'final-norm-weight', layer: null })
  specs.push({ name: 'ln_f.bias', shape: [h], role: 'final-norm-bias', layer: null })
  if (!c.tiedEmbeddings)
    specs.push({ name: 'lm_head.weight', shape: [c.vocabSize, h], role: 'lm-head', layer: null })
  return specs
}

function llamaTensors(c: DecoderConfig): DecoderTensorSpec[] {
  const h = c.hiddenSize
  const q = c.heads * c.headDim
  const kv = c.kvHeads * c.headDim
  const specs: DecoderTensorSpec[] = [
    {
      name: 'model.embed_tokens.weight',
      shape: [c.vocabSize, h],
      role: 'token-embedding',
      layer: null,
    },
  ]
  for (let layer = 0; layer < c.layers; layer++) {
    const p = `model.layers.${layer}.`
    const t = (name: string, shape: number[], role: DecoderTensorRole) =>
      specs.push({ name: p + name, shape, role, layer })
    t('input_layernorm.weight', [h], 'attention-norm-weight')
    t('self_attn.q_proj.weight', [q, h], 'q-weight')
    t('self_attn.k_proj.weight', [kv, h], 'k-weight')
    t('self_attn.v_proj.weight', [kv, h], 'v-weight')
    t('self_attn.o_proj.weight', [h, q], 'attention-output-weight')
    t('post_attention_layernorm.weight', [h], 'mlp-norm-weight')
    t('mlp.gate_proj.weight', [c.intermediateSize, h], 'mlp-gate-weight')
    t('mlp.up_proj.weight', [c.intermediateSize, h], 'mlp-up-weight')
    t('mlp.down_proj.weight', [h, c.intermediateSize], 'mlp-down-weight')
  }
  specs.push({ name: 'model.norm.weight', shape: [h], role: 'final-norm-weight', layer: null })
  if (!c.tiedEmbeddings)
    specs.push({ name: 'lm_head.weight', shape: [c.vocabSize, h], role: 'lm-head', layer: null })
  return specs
}

/** GPT-2 buffers some checkpoints carry (the causal mask), which hold no weights. */
const GPT2_IGNORED = /^h\.\d+\.attn\.(bias|masked_bias)$/

/**
 * The name `decoderTensorNames` uses for a checkpoint's tensor, or `null` for one that
 * holds no weights and is skipped. GPT-2 checkpoints saved from `GPT2LMHeadModel` prefix
 * names with `transformer.`, and older ones carry the causal mask as `h.N.attn.bias`.
 * A tied `lm_head.weight` copy is also skipped (it repeats the token embedding).
 */
export function canonicalTensorName(config: DecoderConfig, name: string): string | null {
  if (config.family !== 'gpt2')
    return config.tiedEmbeddings && name === 'lm_head.weight' ? null : name
  const bare = name.startsWith('transformer.') ? name.slice('transformer.'.length) : name
  if (GPT2_IGNORED.test(bare)) return null
  if (config.tiedEmbeddings && bare === 'lm_head.weight') return null
  return bare
}

/**
 * Check that a checkpoint's tensors are exactly those `config` needs, with its shapes.
 * `tensors` maps checkpoint names (as in the safetensors header) to shapes; names are
 * first passed through `canonicalTensorName`. Returns a map from canonical name to the
 * checkpoint's own name, so a loader can find each byte range.
 *
 * @throws {ModelFormatError} `MISSING_TENSOR`, `UNEXPECTED_TENSOR`, `SHAPE_MISMATCH` or
 *   `DUPLICATE_TENSOR`, naming the tensor.
 */
export function checkDecoderTensors(
  config: DecoderConfig,
  tensors: ReadonlyMap<string, readonly number[]>,
): Map<string, string> {
  const byCanonical = new Map<string, string>()
  for (const name of tensors.keys()) {
    const canonical = canonicalTensorName(config, name)
    if (canonical === null) continue
    const earlier = byCanonical.get(canonical)
    if (earlier !== undefined)
      throw new ModelFormatError(
        `Checkpoint holds tensor ${canonical} twice (${earlier} and ${name}).`,
        {
          code: 'DUPLICATE_TENSOR',
          details: 'Keep one copy of each tensor in the checkpoint.',
        },
      )
    byCanonical.set(canonical, name)
  }
  const needed = decoderTensorNames(config)
  for (const spec of needed) {
    const name = byCanonical.get(spec.name)
    if (name === undefined)
      throw new ModelFormatError(
        `Checkpoint lacks tensor ${spec.name} (${spec.role}, shape [${spec.shape}]).`,
        {
          code: 'MISSING_TENSOR',
          details:
            'The checkpoint does not match config.json: check that both come from the same model.',
        },
      )
    const shape = tensors.get(name) ?? []
    if (shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i]))
      throw new ModelFormatError(
        `Checkpoint tensor ${name} has shape [${shape}]; config.json implies [${spec.shape}].`,
        {
          code: 'SHAPE_MISMATCH',
          details:
            'The checkpoint does not match config.json: check that both come from the same model.',
        },
      )
  }
  if (byCanonical.size !== needed.length) {
    const wanted = new Set(needed.map((s) => s.name))
    const extra = [...byCanonical.keys()].find((n) => !wanted.has(n))
    throw new ModelFormatError(
      `Checkpoint holds tensor ${extra}, which a ${config.family} decoder does not use.`,
      {
        code: 'UNEXPECTED_TENSOR',
        details:
          'An unused tensor means the architecture differs from config.json (biases, extra norms...); use a supported model.',
      },
    )
  }
  return byCanonical
}
