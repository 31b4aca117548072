/**
 * A small decoder generated from a fixed seed, as a Hugging Face model directory holds
 * it: `config.json` (Hugging Face names), `model.safetensors` and `tokenizer.json`.
 * Tests never download a model; they build this one, load it through the same parsers a
 * real directory goes through, and check the GPU path against the CPU reference on it.
 * Browser-safe (the files are returned in memory); `test-model-files.ts` writes them to
 * a directory in Node.
 */
import {
  type DecoderConfig,
  type DecoderFamily,
  decoderTensorNames,
  encodeSafetensors,
  parseHfConfig,
  type SafetensorsEntry,
} from '@tabswarm/protocol'
import { fromFloat16, toFloat16 } from '../reference/float16.ts'
import { seededRandomF32 } from '../reference/seeded-random.ts'
import { learnTestBpe, testTokenizerJson } from './test-tokenizer.ts'

/** What to generate; every field but `family` has a small default. */
export type TestModelOptions = {
  family: DecoderFamily
  /** Stored dtype; f16 weights are rounded from the same f32 draws. Default `float32`. */
  dtype?: 'float32' | 'float16'
  /** Default 1. Each tensor draws from its own seed derived from this and its index. */
  seed?: number
  /** Default 6. */
  layers?: number
  /** Default 64. */
  hiddenSize?: number
  /** Default 4. */
  heads?: number
  /** Key/value heads: default 2 for Llama (grouped-query), `heads` for GPT-2. */
  kvHeads?: number
  /** Default 4 × hidden for GPT-2, 2 × hidden for Llama. */
  intermediateSize?: number
  /** Default 128. */
  maxPositions?: number
  /** Whether the LM head reuses the token embedding. Default: true for GPT-2, false for Llama. */
  tiedEmbeddings?: boolean
  /** Tokenizer and embedding size: 256 bytes, merges, `<|endoftext|>`. Default 300. */
  vocabSize?: number
}

/** A generated model: its files, and the parsed views tests compare against. */
export type TestModel = {
  /** `config.json`, with Hugging Face's names for the family. */
  configJson: Record<string, unknown>
  /** `parseHfConfig(configJson)`. */
  config: DecoderConfig
  /** `model.safetensors`, tensors in `decoderTensorNames(config)` order. */
  safetensors: Uint8Array<ArrayBuffer>
  /** `tokenizer.json`. */
  tokenizerJson: Record<string, unknown>
  /** Each tensor's values as stored (f16 ones decoded back to f32), by checkpoint name. */
  weights: Map<string, Float32Array>
}

/** The file names of a model directory, as Hugging Face lays it out. */
export const TEST_MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json'] as const

/**
 * Generate a test model. The same options always give the same bytes.
 *
 * Weights are uniform draws: matrices scaled by `1/sqrt(fan-in)` so activations keep
 * their size through the layers, norm gains near 1, biases and embeddings small.
 *
 * @example
 * const model = createTestModel({ family: 'llama', dtype: 'float16' })
 */
export function createTestModel(options: TestModelOptions): TestModel {
  const bpe = learnTestBpe(options.vocabSize ?? 300)
  const configJson = hfConfigJson(options, bpe.vocab.size, bpe.eosId)
  const config = parseHfConfig(configJson)
  const dtype = options.dtype ?? 'float32'
  const seed = options.seed ?? 1
  const weights = new Map<string, Float32Array>()
  const entries: SafetensorsEntry[] = decoderTensorNames(config).map((spec, index) => {
    const count = spec.shape.reduce((a, b) => a * b, 1)
    const draws = seededRandomF32(count, (seed * 0x9e3779b1 + index * 0x85ebca6b) >>> 0)
    // GPT-2's Conv1D weights are [in, out]; nn.Linear's (Llama, any LM head) are [out, in].
    const linearLayout = config.family === 'llama' || spec.role === 'lm-head'
    const fanIn = (linearLayout ? spec.shape[1] : spec.shape[0]) ?? 1
    const isNormGain = spec.role.endsWith('norm-weight')
    const scale = spec.role.endsWith('embedding')
      ? 0.5
      : spec.role.endsWith('bias')
        ? 0.05
        : isNormGain
          ? 0.1
          : 1 / Math.sqrt(fanIn)
    const values = draws.map((v) => (isNormGain ? 1 : 0) + v * scale)
    if (dtype === 'float16') {
      const bits = toFloat16(values)
      weights.set(spec.name, fromFloat16(bits))
      return { name: spec.name, dtype: 'F16', shape: spec.shape, data: bits }
    }
    weights.set(spec.name, values)
    return { name: spec.name, dtype: 'F32', shape: spec.shape, data: values }
  })
  return {
    configJson,
    config,
    safetensors: encodeSafetensors(entries, { format: 'pt' }),
    tokenizerJson: testTokenizerJson(bpe),
    weights,
  }
}

/** A test model's files, by name, as the bytes a model directory holds. */
export function testModelFiles(
  model: TestModel,
): Map<(typeof TEST_MODEL_FILES)[number], Uint8Array> {
  const json = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`)
  return new Map<(typeof TEST_MODEL_FILES)[number], Uint8Array>([
    ['config.json', json(model.configJson)],
    ['model.safetensors', model.safetensors],
    ['tokenizer.json', json(model.tokenizerJson)],
  ])
}

function hfConfigJson(
  options: TestModelOptions,
  vocabSize: number,
  eosId: number,
): Record<string, unknown> {
  const hidden = options.hiddenSize ?? 64
  const heads = options.heads ?? 4
  const layers = options.layers ?? 6
  const positions = options.maxPositions ?? 128
  const torchDtype = options.dtype === 'float16' ? 'float16' : 'float32'
  if (options.family === 'gpt2') {
    if (options.kvHeads !== undefined && options.kvHeads !== heads)
      throw new RangeError('GPT-2 has no grouped-query attention: kvHeads must equal heads.')
    return {
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      activation_function: 'gelu_new',
      vocab_size: vocabSize,
      n_embd: hidden,
      n_layer: layers,
      n_head: heads,
      n_inner: options.intermediateSize ?? 4 * hidden,
      n_positions: positions,
      n_ctx: positions,
      layer_norm_epsilon: 1e-5,
      tie_word_embeddings: options.tiedEmbeddings ?? true,
      bos_token_id: eosId,
      eos_token_id: eosId,
      torch_dtype: torchDtype,
    }
  }
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_act: 'silu',
    vocab_size: vocabSize,
    hidden_size: hidden,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: options.kvHeads ?? 2,
    intermediate_size: options.intermediateSize ?? 2 * hidden,
    max_position_embeddings: positions,
    rms_norm_eps: 1e-5,
    rope_theta: 10_000,
    rope_scaling: null,
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: options.tiedEmbeddings ?? false,
    bos_token_id: eosId,
    eos_token_id: eosId,
    torch_dtype: torchDtype,
  }
}

export type { TestBpe } from './test-tokenizer.ts'
export { learnTestBpe, TEST_TOKENIZER_EOS, testTokenizerJson } from './test-tokenizer.ts'
