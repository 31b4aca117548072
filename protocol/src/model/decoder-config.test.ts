import { describe, expect, it } from 'vitest'
import { DECODER_LIMITS, parseHfConfig } from './decoder-config.ts'
import { checkDecoderTensors, decoderTensorNames } from './decoder-tensors.ts'

/** openai-community/gpt2's config.json, as published. */
const GPT2 = {
  activation_function: 'gelu_new',
  architectures: ['GPT2LMHeadModel'],
  attn_pdrop: 0.1,
  bos_token_id: 50256,
  embd_pdrop: 0.1,
  eos_token_id: 50256,
  initializer_range: 0.02,
  layer_norm_epsilon: 1e-5,
  model_type: 'gpt2',
  n_ctx: 1024,
  n_embd: 768,
  n_head: 12,
  n_layer: 12,
  n_positions: 1024,
  resid_pdrop: 0.1,
  vocab_size: 50257,
}

/** TinyLlama/TinyLlama-1.1B-Chat-v1.0's config.json, as published. */
const TINY_LLAMA = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 5632,
  max_position_embeddings: 2048,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 22,
  num_key_value_heads: 4,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 10000.0,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  vocab_size: 32000,
}

describe('parseHfConfig', () => {
  it('reads GPT-2: LayerNorm, learned positions, GELU, tied head, 4x MLP', () => {
    expect(parseHfConfig(GPT2)).toEqual({
      family: 'gpt2',
      vocabSize: 50257,
      hiddenSize: 768,
      layers: 12,
      heads: 12,
      kvHeads: 12,
      headDim: 64,
      intermediateSize: 3072,
      maxPositions: 1024,
      norm: 'layernorm',
      normEpsilon: 1e-5,
      positions: 'learned',
      ropeTheta: null,
      mlp: 'gelu',
      tiedEmbeddings: true,
      bosTokenId: 50256,
      eosTokenId: 50256,
    })
  })

  it('reads Llama with grouped-query attention', () => {
    expect(parseHfConfig(TINY_LLAMA)).toEqual({
      family: 'llama',
      vocabSize: 32000,
      hiddenSize: 2048,
      layers: 22,
      heads: 32,
      kvHeads: 4,
      headDim: 64,
      intermediateSize: 5632,
      maxPositions: 2048,
      norm: 'rmsnorm',
      normEpsilon: 1e-5,
      positions: 'rotary',
      ropeTheta: 10000,
      mlp: 'swiglu',
      tiedEmbeddings: false,
      bosTokenId: 1,
      eosTokenId: 2,
    })
  })

  it('reads Mistral as Llama when its sliding window covers every position, and an explicit head_dim', () => {
    const c = parseHfConfig({
      ...TINY_LLAMA,
      model_type: 'mistral',
      sliding_window: 2048,
      head_dim: 128,
    })
    expect(c.family).toBe('llama')
    expect(c.headDim).toBe(128)
  })

  it('takes the first of a list of eos ids (Llama 3)', () => {
    expect(parseHfConfig({ ...TINY_LLAMA, eos_token_id: [2, 5] }).eosTokenId).toBe(2)
  })

  it.each([
    [{ ...GPT2, model_type: 'qwen2' }, 'UNSUPPORTED_FAMILY', /qwen2/],
    [{ ...GPT2, model_type: undefined }, 'UNSUPPORTED_FAMILY', /undefined/],
    [
      { ...TINY_LLAMA, rope_scaling: { type: 'linear', factor: 2 } },
      'UNSUPPORTED_OPTION',
      /rope_scaling/,
    ],
    [{ ...TINY_LLAMA, attention_bias: true }, 'UNSUPPORTED_OPTION', /attention_bias/],
    [{ ...TINY_LLAMA, mlp_bias: true }, 'UNSUPPORTED_OPTION', /mlp_bias/],
    [{ ...TINY_LLAMA, hidden_act: 'gelu' }, 'UNSUPPORTED_OPTION', /hidden_act/],
    [
      { ...TINY_LLAMA, model_type: 'mistral', sliding_window: 1024 },
      'UNSUPPORTED_OPTION',
      /sliding_window/,
    ],
    [{ ...TINY_LLAMA, pretraining_tp: 2 }, 'UNSUPPORTED_OPTION', /pretraining_tp/],
    [{ ...GPT2, activation_function: 'relu' }, 'UNSUPPORTED_OPTION', /activation_function/],
    [
      { ...GPT2, scale_attn_by_inverse_layer_idx: true },
      'UNSUPPORTED_OPTION',
      /scale_attn_by_inverse/,
    ],
    [{ ...GPT2, n_layer: 'twelve' }, 'INVALID_CONFIG', /n_layer/],
    [{ ...GPT2, n_head: 7 }, 'INVALID_CONFIG', /multiple of n_head/],
    [{ ...TINY_LLAMA, num_key_value_heads: 5 }, 'INVALID_CONFIG', /kvHeads/],
    [{ ...TINY_LLAMA, num_hidden_layers: 2.5 }, 'INVALID_CONFIG', /layers/],
    [{ ...TINY_LLAMA, eos_token_id: 32000 }, 'INVALID_CONFIG', /outside the vocabulary/],
    [
      { ...TINY_LLAMA, num_hidden_layers: DECODER_LIMITS.maxLayers + 1 },
      'LIMIT_EXCEEDED',
      /layers/,
    ],
    [{ ...TINY_LLAMA, vocab_size: 1e9 }, 'LIMIT_EXCEEDED', /vocabSize/],
    [{ ...GPT2, n_positions: 1e12 }, 'LIMIT_EXCEEDED', /maxPositions/],
    [[1, 2], 'INVALID_CONFIG', /JSON object/],
  ])('refuses %#: %s', (json, code, message) => {
    expect(() => parseHfConfig(json)).toThrowError(
      expect.objectContaining({ code, message: expect.stringMatching(message) }),
    )
  })
})

describe('decoderTensorNames', () => {
  it('lists GPT-2: embeddings, 12 tensors a layer, final norm, tied head', () => {
    const specs = decoderTensorNames(parseHfConfig(GPT2))
    expect(specs).toHaveLength(2 + 12 * 12 + 2)
    expect(specs.find((s) => s.name === 'h.11.attn.c_attn.weight')).toEqual({
      name: 'h.11.attn.c_attn.weight',
      shape: [768, 2304],
      role: 'qkv-weight',
      layer: 11,
    })
    expect(specs.some((s) => s.role === 'lm-head')).toBe(false)
  })

  it('lists Llama with grouped K/V and an untied head', () => {
    const specs = decoderTensorNames(parseHfConfig(TINY_LLAMA))
    expect(specs).toHaveLength(1 + 22 * 9 + 2)
    expect(specs.find((s) => s.name === 'model.layers.0.self_attn.k_proj.weight')?.shape).toEqual([
      256, 2048,
    ])
    expect(specs.at(-1)).toEqual({
      name: 'lm_head.weight',
      shape: [32000, 2048],
      role: 'lm-head',
      layer: null,
    })
  })
})

describe('checkDecoderTensors', () => {
  const config = parseHfConfig({ ...GPT2, n_layer: 1 })
  const shapes = () => new Map(decoderTensorNames(config).map((s) => [s.name, s.shape]))

  it('accepts exactly the needed tensors, with transformer. prefixes and mask buffers skipped', () => {
    const prefixed = new Map([...shapes()].map(([n, s]) => [`transformer.${n}`, s]))
    prefixed.set('transformer.h.0.attn.bias', [1, 1, 1024, 1024])
    prefixed.set('lm_head.weight', [50257, 768])
    const map = checkDecoderTensors(config, prefixed)
    expect(map.get('wte.weight')).toBe('transformer.wte.weight')
  })

  it('refuses a missing, an extra, a misshapen and a doubled tensor', () => {
    const missing = shapes()
    missing.delete('h.0.ln_2.bias')
    expect(() => checkDecoderTensors(config, missing)).toThrowError(
      expect.objectContaining({
        code: 'MISSING_TENSOR',
        message: expect.stringContaining('h.0.ln_2.bias'),
      }),
    )
    const extra = shapes().set('h.0.attn.q_norm.weight', [768])
    expect(() => checkDecoderTensors(config, extra)).toThrowError(
      expect.objectContaining({
        code: 'UNEXPECTED_TENSOR',
        message: expect.stringContaining('q_norm'),
      }),
    )
    const wrong = shapes().set('wpe.weight', [512, 768])
    expect(() => checkDecoderTensors(config, wrong)).toThrowError(
      expect.objectContaining({
        code: 'SHAPE_MISMATCH',
        message: expect.stringContaining('wpe.weight'),
      }),
    )
    const doubled = shapes().set('transformer.wpe.weight', [1024, 768])
    expect(() => checkDecoderTensors(config, doubled)).toThrowError(
      expect.objectContaining({ code: 'DUPLICATE_TENSOR' }),
    )
  })
})
