import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decoderTensorNames, encodeSafetensors, parseHfConfig } from '@tabswarm/protocol'
import { afterAll, describe, expect, it } from 'vitest'
import { pythonWithNumpy } from '../../../tests/support/python-with-numpy.ts'
import { createTestModel, type TestModel } from '../testing/test-model.ts'
import { writeTestModel } from '../testing/test-model-files.ts'
import { createDecoderKvCache, kvCacheLength, truncateKvCache } from './decoder-kv-cache.ts'
import {
  createDecoderReference,
  type DecoderReference,
  DecoderSession,
  decoderEmbed,
  decoderHead,
  decoderRunLayers,
} from './decoder-reference.ts'
import { generateReference } from './sampling.ts'
import { seededRandomF32 } from './seeded-random.ts'

const NUMPY_DECODER = fileURLToPath(new URL('../testing/numpy-decoder.py', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'decoder-reference-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/**
 * How far the TypeScript reference and numpy may differ, relative to the largest logit.
 * Both compute in f64 from the same weight values, so they differ only by rounding:
 * each dot product (n ≤ 256 terms in the test models) is off by at most γₙ ≈ n·2⁻⁵³ ≈
 * 3e-14 of the sum of its terms' magnitudes on each side, and summation order differs
 * (numpy's BLAS blocks, the reference runs left to right); V8's and libm's exp, tanh, cos
 * and sin are each within an ulp or two. The norms rescale by 1/σ (σ is of order one with
 * these weights) and softmax is 1-Lipschitz, so six layers leave the logits within
 * ~1e-12 of their scale. 1e-10 leaves two decades of margin for that estimate, while
 * one f32 rounding anywhere in the pass (6e-8 relative) or a wrong convention (rotary
 * pairing, head grouping, Conv1D orientation: O(1)) would exceed it by far.
 */
const RELATIVE_TOLERANCE = 1e-10

type NumpyResult = { logits: number[][]; greedy: number[]; margins: number[] }

/** numpy's logits for `prompt` and its greedy continuation, for the model in `path`. */
function numpyAt(path: string, prompt: number[], steps: number): NumpyResult {
  const out = execFileSync(
    pythonWithNumpy(),
    [NUMPY_DECODER, path, JSON.stringify(prompt), String(steps)],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  )
  return JSON.parse(out) as NumpyResult
}

async function numpyRun(model: TestModel, name: string, prompt: number[], steps: number) {
  const path = join(dir, name)
  await writeTestModel(path, model)
  return numpyAt(path, prompt, steps)
}

function bind(model: TestModel, fromLayer?: number, toLayer?: number): DecoderReference {
  return createDecoderReference(
    model.config,
    (n) => model.weights.get(n),
    fromLayer,
    toLayer ?? model.config.layers,
  )
}

/** All positions' logits of `tokens`, in one full pass from an empty cache. */
function fullPass(model: DecoderReference, tokens: number[]): Float64Array {
  const positions = tokens.map((_, i) => i)
  const cache = createDecoderKvCache(model.config)
  const hidden = decoderRunLayers(
    model,
    0,
    model.config.layers,
    decoderEmbed(model, tokens, positions),
    positions,
    cache,
  )
  return decoderHead(model, hidden)
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let max = 0
  for (let i = 0; i < a.length; i++)
    max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)))
  return max
}

const PROMPT = [5, 17, 42, 3, 88, 61, 29]

describe.each([
  ['gpt2', 'float32'],
  ['gpt2', 'float16'],
  ['llama', 'float32'],
  ['llama', 'float16'],
] as const)('decoder reference, %s with %s weights', (family, dtype) => {
  const model = createTestModel({ family, dtype, seed: 100 })
  const reference = bind(model)
  const vocab = model.config.vocabSize

  it('matches numpy: every prompt position’s logits, and the greedy tokens', async () => {
    const steps = 10
    const expected = await numpyRun(model, `${family}-${dtype}`, PROMPT, steps)
    const logits = fullPass(reference, PROMPT)
    const flat = expected.logits.flat()
    const scale = Math.max(...flat.map(Math.abs))
    expect(scale).toBeGreaterThan(1) // a model whose logits carry signal
    expect(maxAbsDiff(logits, flat)).toBeLessThanOrEqual(RELATIVE_TOLERANCE * scale)
    // Greedy equality means something only where the top two logits are further apart
    // than the two implementations can differ.
    expect(Math.min(...expected.margins)).toBeGreaterThan(2 * RELATIVE_TOLERANCE * scale)
    const tokens = [...generateReference(reference, PROMPT, { maxTokens: steps })]
    expect(tokens).toEqual(expected.greedy)
    expect(logits.length).toBe(PROMPT.length * vocab)
  })

  it('composes over layer ranges: embed → decoderRunLayers(0, k) → decoderRunLayers(k, L) → head', () => {
    const L = model.config.layers
    const whole = fullPass(reference, PROMPT)
    const positions = PROMPT.map((_, i) => i)
    for (let k = 1; k < L; k++) {
      // Each stage binds only its own layers, as a shard would, and keeps its own cache.
      const first = bind(model, 0, k)
      const second = bind(model, k, L)
      const mid = decoderRunLayers(
        first,
        0,
        k,
        decoderEmbed(first, PROMPT, positions),
        positions,
        createDecoderKvCache(model.config, 0, k),
      )
      const out = decoderRunLayers(
        second,
        k,
        L,
        mid,
        positions,
        createDecoderKvCache(model.config, k, L),
      )
      expect(decoderHead(second, out)).toEqual(whole)
    }
  })

  it('a KV-cache step equals a full recompute of the prefix', () => {
    const session = new DecoderSession(reference)
    let logits = session.prefill(PROMPT.slice(0, 3))
    const tokens = PROMPT.slice(0, 3)
    for (const token of [...PROMPT.slice(3), 7, 7, 50]) {
      const full = fullPass(reference, tokens)
      expect(maxAbsDiff(logits, full.subarray((tokens.length - 1) * vocab))).toBeLessThanOrEqual(
        1e-12,
      )
      logits = session.step(token)
      tokens.push(token)
    }
    expect(session.length).toBe(tokens.length)
    expect(kvCacheLength(session.cache, model.config.layers - 1)).toBe(tokens.length)
    // Truncated back to a prefix (a shard rebuilt by replaying), the cache continues as new.
    truncateKvCache(session.cache, 4)
    expect(session.length).toBe(4)
    const replayed = session.prefill(tokens.slice(4))
    const full = fullPass(reference, tokens)
    expect(maxAbsDiff(replayed, full.subarray((tokens.length - 1) * vocab))).toBeLessThanOrEqual(
      1e-12,
    )
  })
})

describe('decoder reference, a Llama whose heads are wider than hidden / heads', () => {
  it('matches numpy (head_dim 24, 4 query and 2 key/value heads, hidden 32)', () => {
    // Some Llama-family models set head_dim apart from hidden_size / num_attention_heads;
    // the test model generator does not, so this one is built here.
    const hf = {
      model_type: 'llama',
      vocab_size: 80,
      hidden_size: 32,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 24,
      intermediate_size: 40,
      num_hidden_layers: 2,
      max_position_embeddings: 32,
      rms_norm_eps: 1e-6,
      rope_theta: 500_000,
    }
    const config = parseHfConfig(hf)
    const weights = new Map<string, Float32Array>()
    const entries = decoderTensorNames(config).map((spec, i) => {
      const count = spec.shape.reduce((a, b) => a * b, 1)
      const norm = spec.role.endsWith('norm-weight')
      const scale = norm ? 0.1 : 1 / Math.sqrt(spec.shape[1] ?? 1)
      const data = seededRandomF32(count, 500 + i).map((v) => (norm ? 1 : 0) + v * scale)
      weights.set(spec.name, data)
      return { name: spec.name, dtype: 'F32' as const, shape: spec.shape, data }
    })
    const path = join(dir, 'wide-heads')
    mkdirSync(path)
    writeFileSync(join(path, 'config.json'), JSON.stringify(hf))
    writeFileSync(join(path, 'model.safetensors'), encodeSafetensors(entries))
    const prompt = [1, 2, 3, 5, 8, 13, 21]
    const expected = numpyAt(path, prompt, 5)
    const reference = createDecoderReference(config, (n) => weights.get(n))
    const flat = expected.logits.flat()
    const scale = Math.max(...flat.map(Math.abs))
    expect(maxAbsDiff(fullPass(reference, prompt), flat)).toBeLessThanOrEqual(
      RELATIVE_TOLERANCE * scale,
    )
    expect(Math.min(...expected.margins)).toBeGreaterThan(2 * RELATIVE_TOLERANCE * scale)
    expect([...generateReference(reference, prompt, { maxTokens: 5 })]).toEqual(expected.greedy)
  })
})

describe('decoder reference: what it refuses', () => {
  const model = createTestModel({ family: 'llama', seed: 7 })
  const reference = bind(model)

  it('a missing tensor or one of the wrong size, naming it', () => {
    const lookup = (name: string) => model.weights.get(name)
    expect(() =>
      createDecoderReference(model.config, (n) =>
        n === 'model.layers.1.mlp.up_proj.weight' ? undefined : lookup(n),
      ),
    ).toThrow(/no tensor 'model.layers.1.mlp.up_proj.weight'/)
    expect(() =>
      createDecoderReference(model.config, (n) =>
        n === 'model.norm.weight' ? new Float32Array(63) : lookup(n),
      ),
    ).toThrow(/'model.norm.weight' holds 63 values, not the 64 of shape \[64\]/)
  })

  it('binds a shard without looking up other layers, embeddings or the head', () => {
    const asked: string[] = []
    createDecoderReference(
      model.config,
      (n) => {
        asked.push(n)
        return model.weights.get(n)
      },
      1,
      2,
    )
    expect(asked.every((n) => n.startsWith('model.layers.1.'))).toBe(true)
    expect(asked).toHaveLength(9)
  })

  it('stages outside the bound layers, and positions that do not continue the cache', () => {
    const shard = bind(model, 1, 2)
    const hidden = new Float64Array(model.config.hiddenSize)
    const cache = createDecoderKvCache(model.config)
    expect(() => decoderEmbed(shard, [1], [0])).toThrow(/bind the model from layer 0/)
    expect(() => decoderHead(shard, hidden)).toThrow(/through the last layer/)
    expect(() => decoderRunLayers(shard, 0, 2, hidden, [0], cache)).toThrow(/layer 0 is not bound/)
    expect(() => decoderRunLayers(reference, 0, 1, hidden, [3], cache)).toThrow(
      /position 3 of row 0 does not continue layer 0's KV cache of 0 positions/,
    )
    expect(() => decoderRunLayers(reference, 0, 1, hidden, [0, 1], cache)).toThrow(
      /not 2 positions/,
    )
    const gpt2 = createTestModel({ family: 'gpt2', seed: 1 }).config
    expect(() =>
      decoderRunLayers(reference, 0, 1, hidden, [0], createDecoderKvCache(gpt2)),
    ).toThrow(/the KV cache holds 4 heads of 16, the model 2 of 16/)
    expect(() =>
      decoderRunLayers(reference, 0, 1, hidden, [0], createDecoderKvCache(model.config, 1)),
    ).toThrow(/outside this KV cache's layers 1…5/)
  })

  it('tokens outside the vocabulary and prompts past the context', () => {
    const { vocabSize, maxPositions } = model.config
    expect(() => new DecoderSession(reference).prefill([vocabSize])).toThrow(
      `token ${vocabSize} is outside the vocabulary 0…${vocabSize - 1}`,
    )
    const long = Array.from({ length: maxPositions + 1 }, () => 1)
    expect(() => new DecoderSession(reference).prefill(long)).toThrow(/outside the model's context/)
    expect(() => [...generateReference(reference, long, { maxTokens: 1 })]).toThrow(
      `exceed the model's context of ${maxPositions}`,
    )
  })
})
