import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KernelShapeError } from '../errors.ts'
import type { KernelHost } from '../host/kernel-host.ts'
import { createNodeKernelHost } from '../node/create-node-kernel-host.ts'
import { matmulReference, matmulReferenceWithBound } from '../reference/matmul-reference.ts'
import { seededRandomF32 } from '../reference/seeded-random.ts'
import { freivaldsCheck } from './freivalds.ts'

/** mulberry32 as a `() => number` in [0, 1): reproducible r vectors for the tests. */
function seededUniform(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

function operands(m: number, k: number, n: number, seed = m * 7919 + k * 31 + n) {
  return { a: seededRandomF32(m * k, seed), b: seededRandomF32(k * n, seed + 1), m, k, n }
}

/** C accumulated left to right in f32, one rounding per step: an honest, worst-order kernel. */
function sequentialF32Product(a: Float32Array, b: Float32Array, m: number, k: number, n: number) {
  const c = new Float32Array(m * n)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0
      for (let p = 0; p < k; p++) {
        sum = Math.fround(sum + Math.fround((a[i * k + p] as number) * (b[p * n + j] as number)))
      }
      c[i * n + j] = sum
    }
  }
  return c
}

/**
 * The largest tolerance row i can get for any r (all |rⱼ| ≤ 1): γₖ·Σⱼ(|A|·|B|)ᵢⱼ plus
 * the check's f64 slack. A corruption of more than 4× this is caught in every round.
 */
function rowToleranceCeiling(
  bound: Float64Array,
  c: Float32Array,
  i: number,
  k: number,
  n: number,
) {
  const gamma = (k * 2 ** -24) / (1 - k * 2 ** -24)
  let magnitude = 0
  let cMagnitude = 0
  for (let j = 0; j < n; j++) {
    magnitude += bound[i * n + j] as number
    cMagnitude += Math.abs(c[i * n + j] as number)
  }
  const slack = (n + k + 2) * 2 ** -53 * 1.01
  return gamma * magnitude + slack * (magnitude + cMagnitude) + 2 * k * 2 ** -126 * n
}

const shapes = [
  [1, 1, 1],
  [1, 7, 1],
  [7, 13, 5],
  [31, 37, 41],
  [97, 1, 89],
  [1, 4096, 64],
  [64, 4096, 1],
  [300, 200, 130],
  [129, 257, 65],
] as const

describe('freivaldsCheck accepts honest f32 products', () => {
  it.each(shapes)('CPU reference at %i×%i×%i', (m, k, n) => {
    const { a, b } = operands(m, k, n)
    const c = matmulReference(a, b, m, k, n)
    const result = freivaldsCheck({ a, b, c, m, k, n }, { rounds: 8 })
    expect(result).toMatchObject({ ok: true, rounds: 8 })
    expect(result.maxDeviation).toBeLessThanOrEqual(result.tolerance as number)
  })

  it.each([
    [5, 4096, 3],
    [17, 999, 23],
  ])('sequential f32 accumulation (worst order) at %i×%i×%i', (m, k, n) => {
    // All-positive data: no cancellation, the rounding error grows as fast as it can.
    const a = seededRandomF32(m * k, 3).map((x) => Math.abs(x) + 0.5)
    const b = seededRandomF32(k * n, 4).map((x) => Math.abs(x) + 0.5)
    const c = sequentialF32Product(a, b, m, k, n)
    expect(freivaldsCheck({ a, b, c, m, k, n }, { rounds: 16 }).ok).toBe(true)
  })

  it('with the default CSPRNG, many times over', () => {
    const { a, b, m, k, n } = operands(40, 300, 50)
    const c = sequentialF32Product(a, b, m, k, n)
    for (let trial = 0; trial < 50; trial++) {
      expect(freivaldsCheck({ a, b, c, m, k, n }).ok).toBe(true)
    }
  })

  it('f16 results decoded to f32, with the f16 output rounding allowed', () => {
    const { a, b, m, k, n } = operands(20, 64, 30)
    const exact = matmulReference(a, b, m, k, n)
    // Truncate to 10 mantissa bits: at most one f16 ulp away, as WGSL's packing may be.
    const bits = new Uint32Array(exact.buffer.slice(0))
    for (let i = 0; i < bits.length; i++) bits[i] = (bits[i] as number) & 0xffffe000
    const c = new Float32Array(bits.buffer)
    expect(freivaldsCheck({ a, b, c, m, k, n }, { dtype: 'f16', rounds: 8 }).ok).toBe(true)
    expect(freivaldsCheck({ a, b, c, m, k, n }, { dtype: 'f32', rounds: 8 }).ok).toBe(false)
  })
})

describe('freivaldsCheck on products computed by the GPU (dawn)', () => {
  let host: KernelHost
  beforeAll(async () => {
    host = await createNodeKernelHost()
  })
  afterAll(() => host?.destroy())

  const gpuShapes = [
    [1, 1, 1],
    [3, 5, 7],
    [65, 33, 99],
    [129, 257, 65],
    [1, 512, 300],
    [512, 512, 512],
  ] as const

  for (const variant of ['tiled', 'naive'] as const) {
    it.each(gpuShapes)(`${variant} at %i×%i×%i`, async (m, k, n) => {
      const { a, b } = operands(m, k, n)
      const c = await host.run({ kernel: 'matmul', a, b, m, k, n, variant })
      expect(freivaldsCheck({ a, b, c, m, k, n }, { rounds: 8 })).toMatchObject({ ok: true })
    })
  }

  it('catches one corrupted element of a GPU-computed 512×512 product', async () => {
    const [m, k, n] = [512, 512, 512]
    const { a, b } = operands(m, k, n, 99)
    const honest = await host.run({ kernel: 'matmul', a, b, m, k, n })
    const { bound } = matmulReferenceWithBound(a, b, m, k, n)
    const next = seededUniform(7)
    for (let trial = 0; trial < 20; trial++) {
      const index = Math.floor(next() * m * n)
      const row = Math.floor(index / n)
      const ceiling = rowToleranceCeiling(bound, honest, row, k, n)
      // Above 4× the largest tolerance every round must catch it, whatever r is.
      for (const factor of [4.05, 100, 1e6]) {
        const c = honest.slice()
        c[index] = (c[index] as number) + (next() < 0.5 ? -1 : 1) * factor * ceiling
        const result = freivaldsCheck({ a, b, c, m, k, n }, { rounds: 1 })
        expect(result, `element ${index}, ${factor}× tolerance`).toMatchObject({
          ok: false,
          rounds: 1,
          worstRow: row,
        })
        expect(result.maxDeviation).toBeGreaterThan(result.tolerance as number)
      }
    }
  })
})

describe('freivaldsCheck rejects wrong products', () => {
  const [m, k, n] = [512, 512, 512]
  const { a, b } = operands(m, k, n, 5)
  const { c: honest, bound } = matmulReferenceWithBound(a, b, m, k, n)

  it('accepts the honest product it corrupts below', () => {
    expect(freivaldsCheck({ a, b, c: honest, m, k, n }, { rounds: 4 }).ok).toBe(true)
  })

  it('catches a corruption just above the tolerance: 2.5× the largest row tolerance', () => {
    // Caught as long as honest rounding uses less than a quarter of the bound, which on
    // real data it does by orders of magnitude; 4× is the guarantee tested above.
    for (const index of [0, 511, 512 * 200 + 17, m * n - 1]) {
      const c = honest.slice()
      c[index] =
        (c[index] as number) + 2.5 * rowToleranceCeiling(bound, honest, Math.floor(index / n), k, n)
      for (let trial = 0; trial < 10; trial++) {
        expect(freivaldsCheck({ a, b, c, m, k, n }, { rounds: 1 }).ok, `element ${index}`).toBe(
          false,
        )
      }
    }
  })

  it('accepts a change that is within rounding: a tenth of the per-element bound', () => {
    // Not a miss: a deviation this small is what a correct kernel may return.
    const c = honest.slice()
    const index = 512 * 300 + 300
    c[index] = (c[index] as number) + 0.1 * (k * 2 ** -24 * (bound[index] as number))
    expect(freivaldsCheck({ a, b, c, m, k, n }, { rounds: 8 }).ok).toBe(true)
  })

  it('catches two swapped columns, which random signs alone would miss half the time', () => {
    // Row i deviates by (c[i][10] − c[i][11])·(r₁₀ − r₁₁): a round misses only when the
    // two entries share a sign and nearly a magnitude (about 1 in 10 here), so 8 rounds.
    const c = honest.slice()
    for (let i = 0; i < m; i++) {
      const left = c[i * n + 10] as number
      c[i * n + 10] = c[i * n + 11] as number
      c[i * n + 11] = left
    }
    for (let trial = 0; trial < 20; trial++) {
      expect(freivaldsCheck({ a, b, c, m, k, n }, { rounds: 8 }).ok).toBe(false)
    }
  })

  it('catches a zeroed tile and a transposed result', () => {
    const zeroed = honest.slice()
    for (let i = 128; i < 256; i++) zeroed.fill(0, i * n + 128, i * n + 256)
    expect(freivaldsCheck({ a, b, c: zeroed, m, k, n })).toMatchObject({ ok: false, rounds: 1 })
    const transposed = new Float32Array(m * n)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) transposed[j * m + i] = honest[i * n + j] as number
    expect(freivaldsCheck({ a, b, c: transposed, m, k, n }).ok).toBe(false)
  })

  it('fails a row that holds NaN or Infinity, reporting an infinite deviation', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const c = honest.slice()
      c[512 * 9 + 4] = bad
      expect(freivaldsCheck({ a, b, c, m, k, n })).toMatchObject({
        ok: false,
        worstRow: 9,
        maxDeviation: Number.POSITIVE_INFINITY,
      })
    }
  })

  it('runs every round when the product is right, and stops at the first failing round', () => {
    expect(freivaldsCheck({ a, b, c: honest, m, k, n }, { rounds: 3 }).rounds).toBe(3)
    const c = honest.slice()
    c[0] = (c[0] as number) + 1000
    expect(freivaldsCheck({ a, b, c, m, k, n }, { rounds: 5 }).rounds).toBe(1)
  })
})

describe('freivaldsCheck refuses bad input by name', () => {
  const { a, b, m, k, n } = operands(4, 3, 2)
  const c = matmulReference(a, b, m, k, n)

  it.each([
    [{ a, b, c: c.subarray(1), m, k, n }, /c\.length \(7\) must equal m\*n/],
    [{ a, b: b.subarray(1), c, m, k, n }, /b\.length/],
    [{ a, b, c, m: 0, k, n }, /m must be a positive integer/],
    [{ a, b, c, m, k: 2.5, n }, /k must be a positive integer/],
    [{ a: Array.from(a), b, c, m, k, n }, /a must be a Float32Array/],
    [{ a, b, c: new Float64Array(8), m, k, n }, /c must be a Float32Array/],
  ])('%#', (target, message) => {
    expect(() => freivaldsCheck(target as never)).toThrow(message)
    expect(() => freivaldsCheck(target as never)).toThrow(KernelShapeError)
  })

  it('non-finite operands', () => {
    const bad = a.slice()
    bad[5] = Number.POSITIVE_INFINITY
    expect(() => freivaldsCheck({ a: bad, b, c, m, k, n })).toThrow(/a\[5\] is Infinity/)
  })

  it('rounds and random', () => {
    for (const rounds of [0, -1, 1.5, 65, Number.NaN]) {
      expect(() => freivaldsCheck({ a, b, c, m, k, n }, { rounds })).toThrow(/rounds must be/)
    }
    for (const value of [1, -0.1, Number.NaN]) {
      expect(() => freivaldsCheck({ a, b, c, m, k, n }, { random: () => value })).toThrow(
        /random\(\) must return numbers in \[0, 1\)/,
      )
    }
    expect(() => freivaldsCheck({ a, b, c, m, k, n }, { dtype: 'f64' as never })).toThrow(
      /dtype must be f32 or f16/,
    )
  })
})
