import {
  checkDecoderTensors,
  decoderTensorNames,
  parseHfConfig,
  parseSafetensorsHeader,
  readSafetensorsTensor,
} from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { fromFloat16 } from '../reference/float16.ts'
import { createTestModel, testModelFiles } from './test-model.ts'
import { BYTE_TO_UNICODE, learnTestBpe } from './test-tokenizer.ts'

describe('createTestModel', () => {
  it.each(['gpt2', 'llama'] as const)(
    '%s: 6 layers, hidden 64, 4 heads, vocab 300, loads through the parsers',
    (family) => {
      const model = createTestModel({ family })
      expect(model.config).toMatchObject({
        family,
        layers: 6,
        hiddenSize: 64,
        heads: 4,
        vocabSize: 300,
        headDim: 16,
      })
      expect(model.config.kvHeads).toBe(family === 'llama' ? 2 : 4)
      // The files, not the in-memory objects, are what a loader sees.
      const files = testModelFiles(model)
      const config = parseHfConfig(JSON.parse(new TextDecoder().decode(files.get('config.json'))))
      expect(config).toEqual(model.config)
      const file = files.get('model.safetensors') as Uint8Array
      const header = parseSafetensorsHeader(file)
      const shapes = new Map([...header.tensors].map(([name, t]) => [name, t.shape]))
      const names = checkDecoderTensors(config, shapes)
      expect([...names.keys()]).toEqual(decoderTensorNames(config).map((s) => s.name))
      for (const [name, values] of model.weights) {
        const read = readSafetensorsTensor(header, file, name)
        expect(read.dtype).toBe('float32')
        expect(read.data).toEqual(values)
      }
    },
  )

  it('f16: the same draws rounded, stored as F16 bits', () => {
    const f32 = createTestModel({ family: 'llama' })
    const f16 = createTestModel({ family: 'llama', dtype: 'float16' })
    expect(f16.configJson.torch_dtype).toBe('float16')
    const header = parseSafetensorsHeader(f16.safetensors)
    expect(new Set([...header.tensors.values()].map((t) => t.dtype))).toEqual(new Set(['F16']))
    const name = 'model.layers.5.mlp.down_proj.weight'
    const read = readSafetensorsTensor(header, f16.safetensors, name)
    if (read.dtype !== 'float16') throw new Error('expected f16 bits')
    const decoded = fromFloat16(read.data)
    expect(decoded).toEqual(f16.weights.get(name))
    const exact = f32.weights.get(name) as Float32Array
    for (let i = 0; i < exact.length; i++)
      expect(Math.abs((decoded[i] as number) - (exact[i] as number))).toBeLessThanOrEqual(
        Math.abs(exact[i] as number) * 2 ** -11 + 2 ** -24,
      )
  })

  it.each(['gpt2', 'llama'] as const)(
    '%s with the embeddings tied or not: the LM head is stored only when untied',
    (family) => {
      for (const tied of [true, false]) {
        const model = createTestModel({ family, layers: 1, tiedEmbeddings: tied })
        expect(model.config.tiedEmbeddings).toBe(tied)
        expect(parseSafetensorsHeader(model.safetensors).tensors.has('lm_head.weight')).toBe(!tied)
      }
    },
  )

  it('is deterministic in its seed, and a different seed gives different weights', () => {
    const a = createTestModel({ family: 'gpt2', layers: 2 })
    expect(createTestModel({ family: 'gpt2', layers: 2 }).safetensors).toEqual(a.safetensors)
    expect(
      createTestModel({ family: 'gpt2', layers: 2, seed: 2 }).weights.get('h.0.mlp.c_fc.weight'),
    ).not.toEqual(a.weights.get('h.0.mlp.c_fc.weight'))
    // Distinct tensors draw from distinct streams.
    expect(a.weights.get('h.0.ln_1.bias')).not.toEqual(a.weights.get('h.0.ln_2.bias'))
  })

  it('keeps activations in range: weights scaled by fan-in, norm gains near 1', () => {
    const { weights } = createTestModel({ family: 'llama' })
    const max = (name: string) => Math.max(...(weights.get(name) as Float32Array).map(Math.abs))
    expect(max('model.layers.0.self_attn.q_proj.weight')).toBeLessThanOrEqual(1 / 8)
    expect(max('model.layers.0.mlp.down_proj.weight')).toBeLessThanOrEqual(1 / Math.sqrt(128))
    const gain = weights.get('model.norm.weight') as Float32Array
    expect(Math.min(...gain)).toBeGreaterThanOrEqual(0.9)
  })
})

describe('learnTestBpe', () => {
  it('has every byte, GPT-2 ordered, then merges of frequent pairs, then the end token', () => {
    const bpe = learnTestBpe(300)
    expect(bpe.vocab.size).toBe(300)
    expect(bpe.eosId).toBe(299)
    expect(bpe.vocab.get('!')).toBe(0) // GPT-2's id 0 is '!' (byte 0x21)
    expect(bpe.vocab.get(BYTE_TO_UNICODE[0x20] as string)).toBe(220) // 'Ġ', as in GPT-2
    expect(BYTE_TO_UNICODE[0x20]).toBe('Ġ')
    expect(new Set(BYTE_TO_UNICODE).size).toBe(256)
    // The corpus's most frequent pair: 'Ġt' + 'h' ... begins with a space-letter pair.
    expect(bpe.merges[0]).toEqual(['Ġ', 't'])
    expect(bpe.vocab.has('Ġthe')).toBe(true)
    expect(learnTestBpe(300)).toEqual(bpe)
  })
})
