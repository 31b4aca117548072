/**
 * A small seeded decoder for the reference's own tests: a Hugging Face `config.json`, its
 * weights, and a `model.safetensors` writer so an independent implementation (numpy) can
 * read the very same model from disk.
 *
 * Stands in until the project's test-model generator (`testing/test-model.ts`) is merged;
 * it writes the same kind of directory.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type DecoderConfig, decoderTensorNames, parseHfConfig } from '@tabswarm/protocol'
import { fromFloat16, toFloat16 } from '../reference/float16.ts'
import { seededRandomF32 } from '../reference/seeded-random.ts'

/** A tiny model of each family; the Llama one has grouped queries and headDim·heads ≠ hidden. */
export const FIXTURE_CONFIGS = {
  gpt2: {
    model_type: 'gpt2',
    vocab_size: 96,
    n_embd: 32,
    n_head: 4,
    n_layer: 3,
    n_positions: 48,
    layer_norm_epsilon: 1e-5,
    activation_function: 'gelu_new',
  },
  llama: {
    model_type: 'llama',
    vocab_size: 96,
    hidden_size: 32,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 12,
    intermediate_size: 48,
    num_hidden_layers: 3,
    max_position_embeddings: 48,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
  },
} as const

export type FixtureModel = {
  hf: Record<string, unknown>
  config: DecoderConfig
  /** Weight values by checkpoint name (f16 models hold their f16 values, decoded). */
  tensors: Map<string, Float32Array>
  /** Their shapes. */
  shapes: Map<string, number[]>
  dtype: 'F32' | 'F16'
}

/**
 * A seeded model of `family`: weights uniform in ±1/√fan-in (so activations stay of order
 * one through the layers), norm scales 1 ± 0.2, embeddings ±1; with `F16` every weight is
 * rounded to float16 (and `tensors` holds the rounded values).
 */
export function fixtureModel(
  family: keyof typeof FIXTURE_CONFIGS,
  seed: number,
  dtype: 'F32' | 'F16' = 'F32',
): FixtureModel {
  const hf = { ...FIXTURE_CONFIGS[family], torch_dtype: dtype === 'F16' ? 'float16' : 'float32' }
  const config = parseHfConfig(hf)
  const tensors = new Map<string, Float32Array>()
  const shapes = new Map<string, number[]>()
  let s = seed
  for (const spec of decoderTensorNames(config)) {
    const length = spec.shape.reduce((a, b) => a * b, 1)
    const random = seededRandomF32(length, s++)
    const norm = spec.role.includes('norm-weight')
    const bias = spec.role.endsWith('bias')
    const embedding = spec.role.endsWith('embedding') || spec.role === 'lm-head'
    const fanIn = spec.role === 'mlp-down-weight' ? config.intermediateSize : config.hiddenSize
    const scale = norm ? 0.2 : bias ? 0.1 : embedding ? 1 : 1 / Math.sqrt(fanIn)
    let values = random.map((r) => (norm ? 1 : 0) + r * scale)
    if (dtype === 'F16') values = fromFloat16(toFloat16(values))
    tensors.set(spec.name, values)
    shapes.set(spec.name, spec.shape)
  }
  return { hf, config, tensors, shapes, dtype }
}

/** Write `config.json` and `model.safetensors` of `model` into `dir`. */
export function writeFixtureModel(model: FixtureModel, dir: string): void {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'config.json'), JSON.stringify(model.hf))
  const header: Record<string, unknown> = {}
  const parts: Uint8Array[] = []
  let offset = 0
  for (const [name, values] of model.tensors) {
    const bytes =
      model.dtype === 'F16'
        ? new Uint8Array(toFloat16(values).buffer)
        : new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
    header[name] = {
      dtype: model.dtype,
      shape: model.shapes.get(name),
      data_offsets: [offset, offset + bytes.length],
    }
    parts.push(bytes)
    offset += bytes.length
  }
  const json = new TextEncoder().encode(JSON.stringify(header))
  const size = new Uint8Array(8)
  new DataView(size.buffer).setBigUint64(0, BigInt(json.length), true)
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([size, json, ...parts]))
}
