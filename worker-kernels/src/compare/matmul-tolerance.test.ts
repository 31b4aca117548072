import { describe, expect, it } from 'vitest'
import { KernelShapeError } from '../errors.ts'
import { float16Bits, float16Value } from '../reference/float16.ts'
import { matmulReferenceWithBound } from '../reference/matmul-reference.ts'
import { seededRandomF32 } from '../reference/seeded-random.ts'
import { compareMatmul } from './matmul-tolerance.ts'

/** What a GPU does: f32 products and f32 sums, here in reverse k order to differ from the reference. */
function matmulF32Reversed(a: Float32Array, b: Float32Array, m: number, k: number, n: number) {
  const c = new Float32Array(m * n)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0
      for (let p = k - 1; p >= 0; p--)
        sum = Math.fround(sum + Math.fround(a[i * k + p]! * b[p * n + j]!))
      c[i * n + j] = sum
    }
  }
  return c
}

/** What the f16-arithmetic path does: each product rounded to f16, then summed in f32. */
function matmulF16Products(a: Float32Array, b: Float32Array, m: number, k: number, n: number) {
  const c = new Float32Array(m * n)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0
      for (let p = 0; p < k; p++) {
        sum = Math.fround(sum + float16Value(float16Bits(a[i * k + p]! * b[p * n + j]!)))
      }
      c[i * n + j] = sum
    }
  }
  return c
}

const m = 24
const k = 300
const n = 17
const a = seededRandomF32(m * k, 1)
const b = seededRandomF32(k * n, 2)
const { c: expected, bound } = matmulReferenceWithBound(a, b, m, k, n)
const gpuLike = matmulF32Reversed(a, b, m, k, n)

describe('compareMatmul', () => {
  it('passes genuine f32 rounding noise', () => {
    const result = compareMatmul(gpuLike, expected, { k, bound })
    // The noise is real (not a copy of the reference) ...
    expect(result.maxAbsError).toBeGreaterThan(0)
    // ... and within tolerance.
    expect(result).toMatchObject({ ok: true, mismatches: 0 })
    expect(result.worstRatio).toBeLessThanOrEqual(1)
  })

  it('passes the same noise with the normwise fallback (no bound)', () => {
    expect(compareMatmul(gpuLike, expected, { k }).ok).toBe(true)
  })

  it('fails a single corrupted element and points at it', () => {
    const corrupted = gpuLike.slice()
    const index = 123
    corrupted[index] = corrupted[index]! * (1 + 1e-3)
    const result = compareMatmul(corrupted, expected, { k, bound })
    expect(result).toMatchObject({ ok: false, mismatches: 1, worstIndex: index })
    expect(result.worstRatio).toBeGreaterThan(1)
  })

  it('fails a corruption as small as one unit in the 4th digit of a small element', () => {
    const corrupted = gpuLike.slice()
    corrupted[0] = corrupted[0]! + 1e-4 * bound[0]!
    expect(compareMatmul(corrupted, expected, { k, bound }).ok).toBe(false)
  })

  it('fails a single NaN', () => {
    const corrupted = gpuLike.slice()
    corrupted[7] = Number.NaN
    const result = compareMatmul(corrupted, expected, { k, bound })
    expect(result).toMatchObject({ ok: false, mismatches: 1, worstIndex: 7 })
    expect(result.maxAbsError).toBe(Number.POSITIVE_INFINITY)
  })

  it('fails Infinity, even where the reference is infinite too', () => {
    const corrupted = gpuLike.slice()
    corrupted[3] = Number.POSITIVE_INFINITY
    expect(compareMatmul(corrupted, expected, { k, bound }).ok).toBe(false)
    const inf = Float32Array.of(Number.POSITIVE_INFINITY)
    expect(compareMatmul(inf, inf, { k: 1 }).ok).toBe(false)
  })

  it('fails when the reference itself holds NaN', () => {
    expect(compareMatmul(Float32Array.of(1), Float32Array.of(Number.NaN), { k: 1 }).ok).toBe(false)
  })

  it('is tighter for short reductions: k = 1 leaves no room beyond rounding', () => {
    const one = Float32Array.of(3)
    expect(compareMatmul(Float32Array.of(3), one, { k: 1, bound: [3] }).ok).toBe(true)
    expect(compareMatmul(Float32Array.of(3 + 1e-5), one, { k: 1, bound: [3] }).ok).toBe(false)
  })

  it('scales the tolerance with |A|·|B|, so cancellation to ~0 is not a false failure', () => {
    // c = 1e4 − 1e4 = 0 exactly, but a correct f32 kernel may return a few ulps of 1e4.
    const noisy = Float32Array.of(2e-3)
    expect(compareMatmul(noisy, Float32Array.of(0), { k: 2, bound: [2e4] }).ok).toBe(true)
    expect(compareMatmul(Float32Array.of(1), Float32Array.of(0), { k: 2, bound: [2e4] }).ok).toBe(
      false,
    )
  })

  it('passes f16-product noise with compute f16, which the f32 bound rightly fails', () => {
    const f16Like = matmulF16Products(a, b, m, k, n)
    const f16 = compareMatmul(f16Like, expected, { k, bound, compute: 'f16' })
    expect(f16).toMatchObject({ ok: true, mismatches: 0 })
    // The f16 product roundings (≈ 2⁻¹¹ each) are far above γₖ in f32 for k = 300.
    expect(compareMatmul(f16Like, expected, { k, bound }).ok).toBe(false)
    expect(f16.gamma).toBeGreaterThan(2 ** -10)
    expect(f16.gamma).toBeLessThan(2 ** -10 + 2 * k * 2 ** -24)
  })

  it('with compute f16 still fails a wrong element', () => {
    const corrupted = matmulF16Products(a, b, m, k, n)
    corrupted[42] = corrupted[42]! + 0.02 * bound[42]!
    const result = compareMatmul(corrupted, expected, { k, bound, compute: 'f16' })
    expect(result).toMatchObject({ ok: false, mismatches: 1, worstIndex: 42 })
    expect(() =>
      compareMatmul(corrupted, expected, { k, bound, compute: 'bf16' as never }),
    ).toThrow(/compute must be f32 or f16/)
  })

  it('rejects mismatched lengths and bad k', () => {
    expect(() => compareMatmul(new Float32Array(3), new Float32Array(4), { k: 1 })).toThrow(
      KernelShapeError,
    )
    expect(() =>
      compareMatmul(new Float32Array(3), new Float32Array(3), { k: 1, bound: [1] }),
    ).toThrow(/bound\.length/)
    expect(() => compareMatmul(new Float32Array(1), new Float32Array(1), { k: 0 })).toThrow(
      /k must/,
    )
  })
})
