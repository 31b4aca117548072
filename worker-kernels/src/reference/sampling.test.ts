import { describe, expect, it } from 'vitest'
import { createTestModel } from '../testing/test-model.ts'
import { createDecoderReference } from './decoder-reference.ts'
import {
  createSampler,
  generateReference,
  greedyToken,
  type SamplingOptions,
  samplingCandidates,
} from './sampling.ts'
import { seededRandom, seededRandomF32 } from './seeded-random.ts'

const log = Math.log

/** Softmax of `logits / temperature` in f64, written out independently of `sampling.ts`. */
function softmax(logits: ArrayLike<number>, temperature = 1): number[] {
  const values = Array.from(logits, (v) => v / temperature)
  const top = Math.max(...values)
  const e = values.map((v) => Math.exp(v - top))
  const sum = e.reduce((a, b) => a + b, 0)
  return e.map((v) => v / sum)
}

describe('seededRandom', () => {
  it('is mulberry32: the stream seededRandomF32 has always drawn, in [0, 1)', () => {
    const next = seededRandom(9)
    const u = Array.from({ length: 1000 }, next)
    expect(Float32Array.from(u, (v) => v * 2 - 1)).toEqual(seededRandomF32(1000, 9))
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...u)).toBeLessThan(1)
  })
})

describe('greedyToken and samplingCandidates', () => {
  it('greedy picks the largest logit, the lowest id on a tie, and refuses NaN', () => {
    expect(greedyToken([0.1, 3, -2, 3])).toBe(1)
    expect(() => greedyToken([0, Number.NaN])).toThrow(/logit 1 is NaN/)
    expect(() => greedyToken([])).toThrow(/no logits/)
  })

  it('top-p keeps the smallest most-likely prefix reaching p, renormalized', () => {
    const logits = [0.05, 0.5, 0.15, 0.3].map(log) // ids by likelihood: 1, 3, 2, 0
    const at = (topP: number) => samplingCandidates(logits, { topP })
    // Off the exact boundaries (0.5 + 0.3 rounds below 0.8 in binary).
    expect(at(0.49).tokens).toEqual([1])
    expect(at(0.79).tokens).toEqual([1, 3])
    const { probabilities } = at(0.79)
    expect(probabilities[0]).toBeCloseTo(0.625, 12)
    expect(probabilities[1]).toBeCloseTo(0.375, 12)
    expect(at(0.81).tokens).toEqual([1, 3, 2])
    expect(at(1).tokens).toEqual([1, 3, 2, 0])
    expect(at(1e-9).tokens).toEqual([1])
  })

  it('top-k then top-p, at a temperature, against a direct computation', () => {
    const logits = seededRandomF32(50, 3).map((v) => v * 4)
    for (const [temperature, topK, topP] of [
      [0.7, 10, 0.9],
      [1.5, 50, 0.6],
      [1, 5, 1],
    ] as const) {
      const got = samplingCandidates(logits, { temperature, topK, topP })
      const order = Array.from(logits.keys()).sort(
        (a, b) => (logits[b] as number) - (logits[a] as number),
      )
      const kept = order.slice(0, topK)
      const p = softmax(
        kept.map((i) => logits[i] as number),
        temperature,
      )
      let n = 0
      let mass = 0
      while (mass < topP && n < p.length) mass += p[n++] as number
      expect(got.tokens).toEqual(kept.slice(0, n))
      got.probabilities.forEach((q, i) => {
        expect(q).toBeCloseTo((p[i] as number) / mass, 12)
      })
    }
  })

  it('refuses options out of range, naming them', () => {
    expect(() => samplingCandidates([0], { temperature: 0 })).toThrow(/temperature 0 must be > 0/)
    expect(() => samplingCandidates([0], { topK: 0 })).toThrow(/topK 0/)
    expect(() => samplingCandidates([0], { topP: 1.5 })).toThrow(/topP 1.5/)
    expect(() => createSampler({ mode: 'sample', seed: 0.5 })).toThrow(/seed 0.5/)
    expect(() => createSampler({ mode: 'beam' } as unknown as SamplingOptions)).toThrow(/'beam'/)
  })
})

describe('createSampler', () => {
  const logits = seededRandomF32(40, 11).map((v) => v * 3)

  it('top-k = 1 is greedy, whatever the seed and temperature', () => {
    for (let seed = 0; seed < 20; seed++) {
      const rows = Array.from({ length: 5 }, (_, i) => seededRandomF32(40, seed * 10 + i))
      const choose = createSampler({ mode: 'sample', seed, topK: 1, temperature: 2 })
      for (const row of rows) expect(choose(row)).toBe(greedyToken(row))
    }
  })

  it('top-p draws only inside the nucleus, at the nucleus’ frequencies', () => {
    const options = { mode: 'sample', seed: 5, topP: 0.7, temperature: 0.8 } as const
    const p = softmax(logits, 0.8)
    const order = Array.from(p.keys()).sort((a, b) => (p[b] as number) - (p[a] as number))
    const nucleus: number[] = []
    let mass = 0
    for (const i of order) {
      if (mass >= 0.7) break
      nucleus.push(i)
      mass += p[i] as number
    }
    const choose = createSampler(options)
    const draws = 20_000
    const counts = new Map<number, number>()
    for (let i = 0; i < draws; i++) {
      const t = choose(logits)
      counts.set(t, (counts.get(t) ?? 0) + 1)
    }
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([...nucleus].sort((a, b) => a - b))
    for (const t of nucleus) {
      const expected = (p[t] as number) / mass
      // Five binomial standard deviations: a correct sampler fails this ~1e-6 of the time,
      // and the seed is fixed, so it either always passes or always fails.
      const sd = Math.sqrt((expected * (1 - expected)) / draws)
      expect(Math.abs((counts.get(t) ?? 0) / draws - expected)).toBeLessThan(5 * sd)
    }
  })

  it('the same seed gives the same tokens; another seed, others', () => {
    const run = (seed: number) => {
      const choose = createSampler({ mode: 'sample', seed, temperature: 1.5 })
      return Array.from({ length: 30 }, () => choose(logits))
    }
    expect(run(1)).toEqual(run(1))
    expect(run(1)).not.toEqual(run(2))
  })
})

describe('generateReference', () => {
  const model = createTestModel({ family: 'llama', seed: 300, layers: 2 })
  const reference = createDecoderReference(model.config, (n) => model.weights.get(n))
  const prompt = [4, 8, 15, 16, 23, 42]

  it('greedy by default; top-k = 1 sampling gives the same tokens', () => {
    const greedy = [...generateReference(reference, prompt, { maxTokens: 8 })]
    expect(greedy).toHaveLength(8)
    const sampled = generateReference(reference, prompt, {
      maxTokens: 8,
      sampling: { mode: 'sample', seed: 77, topK: 1 },
    })
    expect([...sampled]).toEqual(greedy)
  })

  it('is deterministic for a seed, and yields tokens one at a time', () => {
    const sampling = { mode: 'sample', seed: 1234, temperature: 1.2, topP: 0.95 } as const
    const a = [...generateReference(reference, prompt, { maxTokens: 12, sampling })]
    const it = generateReference(reference, prompt, { maxTokens: 12, sampling })
    const b: number[] = []
    for (let r = it.next(); !r.done; r = it.next()) b.push(r.value)
    expect(b).toEqual(a)
    const other = [
      ...generateReference(reference, prompt, {
        maxTokens: 12,
        sampling: { ...sampling, seed: 4321 },
      }),
    ]
    expect(other).not.toEqual(a)
  })

  it('stops at a stop token without yielding it, and at the context’s end', () => {
    const greedy = [...generateReference(reference, prompt, { maxTokens: 8 })]
    const stopAt = greedy[3] as number
    const first = greedy.indexOf(stopAt)
    expect([...generateReference(reference, prompt, { maxTokens: 8, stop: [stopAt] })]).toEqual(
      greedy.slice(0, first),
    )
    expect([...generateReference(reference, prompt, { maxTokens: 0 })]).toEqual([])
    // A prompt 2 short of the context leaves room to feed 2 more tokens, and a third is
    // chosen from the last position's logits.
    const context = model.config.maxPositions
    const long = Array.from({ length: context - 2 }, (_, i) => i % 256)
    expect([...generateReference(reference, long, { maxTokens: 10 })]).toHaveLength(3)
    expect(() => [...generateReference(reference, prompt, { maxTokens: -1 })]).toThrow(
      /maxTokens -1/,
    )
  })
})
