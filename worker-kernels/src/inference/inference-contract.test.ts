import { describe, expect, it } from 'vitest'
import {
  compareActivations,
  compareTopLogits,
  decoderTolerance,
} from '../compare/decoder-tolerance.ts'
import { createDecoderReference, DecoderSession } from '../reference/decoder-reference.ts'
import { generateReference } from '../reference/sampling.ts'
import { createTestModel } from '../testing/test-model.ts'
import type { StageWeights } from './decoder-stage.ts'
import { generateBatch } from './generate-batch.ts'
import { createReferenceDecoderStage } from './reference-decoder-stage.ts'
import { createTopLogitsSampler } from './sample-top-logits.ts'
import { topLogitsOf } from './top-logits.ts'

const model = createTestModel({ family: 'llama', layers: 4 })
const weights: StageWeights = new Map(
  [...model.weights].map(([name, data]) => [name, { dtype: 'float32', data }] as const),
)
const stage = (fromLayer: number, toLayer: number) =>
  createReferenceDecoderStage({ config: model.config, fromLayer, toLayer, weights })
const prompt = Int32Array.of(5, 17, 42, 9)

describe('topLogitsOf', () => {
  it('keeps the largest, largest first, ties to the lower id', () => {
    const top = topLogitsOf([1, 5, 3, 5, -2, 4], 3)
    expect([...top.ids]).toEqual([1, 3, 5])
    expect([...top.logits]).toEqual([5, 5, 4])
  })
  it('refuses NaN and caps the count at the vocabulary', () => {
    expect(() => topLogitsOf([1, Number.NaN], 1)).toThrow(/logit 1 is NaN/)
    expect(topLogitsOf([2, 1], 5).ids.length).toBe(2)
  })
})

describe('createReferenceDecoderStage', () => {
  it('split into two stages, gives the whole model logits and replays a prefix', async () => {
    const whole = new DecoderSession(
      createDecoderReference(model.config, (n) => model.weights.get(n)),
    )
    const expected = whole.prefill(prompt)
    const first = stage(0, 2)
    const second = stage(2, 4)
    const a = first.createCache()
    const b = second.createCache()
    const hidden = await second.forward({ x: await first.forward({ tokens: prompt }, a) }, b)
    const top = await second.topLogits(hidden.subarray(3 * 64), 5)
    expect(top.ids[0]).toBe(topLogitsOf(expected, 1).ids[0])
    expect(compareTopLogits(top, topLogitsOf(expected, 5), 1e-5).ok).toBe(true)
    expect(a.length).toBe(4)
    a.truncate(2)
    expect(a.length).toBe(2)
    await expect(first.forward({ x: new Float32Array(64) }, a)).rejects.toThrow(/takes tokens/)
  })

  it('generates in a batch what the reference generates', async () => {
    const out = await generateBatch(stage(0, 4), {
      prompts: [prompt, Int32Array.of(3)],
      maxNewTokens: 5,
      sampling: { mode: 'greedy' },
      stop: [],
      topLogits: 4,
      firstPrompt: 0,
    })
    const reference = createDecoderReference(model.config, (n) => model.weights.get(n))
    expect([...out.tokens.subarray(0, 5)]).toEqual([
      ...generateReference(reference, prompt, { maxTokens: 5 }),
    ])
    expect([...out.tokens.subarray(5, 10)]).toEqual([
      ...generateReference(reference, [3], { maxTokens: 5 }),
    ])
  })

  it('samples from top logits as the reference sampler does when topK fits the list', async () => {
    const sampling = { mode: 'sample', seed: 11, topK: 8, temperature: 0.8 } as const
    const reference = createDecoderReference(model.config, (n) => model.weights.get(n))
    const expected = [...generateReference(reference, prompt, { maxTokens: 6, sampling })]
    const out = await generateBatch(stage(0, 4), {
      prompts: [prompt],
      maxNewTokens: 6,
      sampling,
      stop: [],
      topLogits: 8,
      firstPrompt: 0,
    })
    expect([...out.tokens]).toEqual(expected)
    const resumed = createTopLogitsSampler(sampling, { skipDraws: 1 })
    expect(typeof resumed({ ids: Int32Array.of(4, 2), logits: Float32Array.of(1, 0) })).toBe(
      'number',
    )
  })
})

describe('decoder tolerances', () => {
  it('grows with the layers and the format, within its bounds', () => {
    const f32 = decoderTolerance(model.config, { layers: 2, kvLength: 10, compute: 'float32' })
    const f16 = decoderTolerance(model.config, { layers: 2, kvLength: 10, compute: 'float16' })
    expect(f32).toBeGreaterThanOrEqual(1e-5)
    expect(f16).toBeGreaterThan(f32)
    expect(f16).toBeLessThanOrEqual(0.05)
  })

  it('passes rounding noise and catches a corrupted activation or NaN', () => {
    const b = Float32Array.from({ length: 128 }, (_, i) => Math.sin(i))
    const a = b.map((v) => v * (1 + 1e-7))
    expect(compareActivations(a, b, 64, 1e-5).ok).toBe(true)
    const bad = Float32Array.from(b)
    bad[70] = (bad[70] as number) + 0.01
    const result = compareActivations(bad, b, 64, 1e-5)
    expect(result.ok).toBe(false)
    expect(result.worstRow).toBe(1)
    bad[70] = Number.NaN
    expect(compareActivations(bad, b, 64, 1e-5).worstError).toBe(Infinity)
  })

  it('tells a wrong top token from a near tie', () => {
    const ref = { ids: [3, 1, 2], logits: [10, 9.99999, 5] }
    expect(compareTopLogits({ ids: [1, 3, 2], logits: [10.5, 10, 5] }, ref, 1e-5).ok).toBe(false)
    expect(compareTopLogits({ ids: [1, 3, 2], logits: [10, 10, 5] }, ref, 1e-5).ok).toBe(true)
    expect(
      compareTopLogits({ ids: [7, 3, 1], logits: [11, 10, 9.99999] }, ref, 1e-5).problem,
    ).toMatch(/token 7/)
  })
})
