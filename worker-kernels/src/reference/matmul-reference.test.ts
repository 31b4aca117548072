import { describe, expect, it } from 'vitest'
import { KernelShapeError } from '../errors.ts'
import { matmulReference, matmulReferenceWithBound } from './matmul-reference.ts'

const f32 = (values: number[]) => Float32Array.from(values)

describe('matmulReference', () => {
  it('multiplies row-major matrices', () => {
    // [1 2 3; 4 5 6] · [7 8; 9 10; 11 12] = [58 64; 139 154]
    const c = matmulReference(f32([1, 2, 3, 4, 5, 6]), f32([7, 8, 9, 10, 11, 12]), 2, 3, 2)
    expect([...c]).toEqual([58, 64, 139, 154])
  })

  it('treats the operands as C order, not column-major', () => {
    // A is 1×2, B is 2×3: a column-major reading would need a different length.
    const c = matmulReference(f32([1, 10]), f32([1, 2, 3, 4, 5, 6]), 1, 2, 3)
    expect([...c]).toEqual([41, 52, 63])
  })

  it('accumulates in float64, where float32 would cancel to 0', () => {
    const a = f32([1e8, 1, -1e8])
    const b = f32([1, 1, 1])
    let f32Sum = 0
    for (let p = 0; p < 3; p++) f32Sum = Math.fround(f32Sum + Math.fround(a[p]! * b[p]!))
    expect(f32Sum).toBe(0)
    expect([...matmulReference(a, b, 1, 3, 1)]).toEqual([1])
  })

  it('matches a direct triple loop on an odd shape', () => {
    const m = 5
    const k = 7
    const n = 3
    const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i) * 3)
    const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i) * 2)
    const c = matmulReference(a, b, m, k, n)
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0
        for (let p = 0; p < k; p++) sum += a[i * k + p]! * b[p * n + j]!
        expect(c[i * n + j]).toBe(Math.fround(sum))
      }
    }
  })

  it('keeps NaN from 0·Infinity instead of skipping zeros', () => {
    const c = matmulReference(f32([0, 1]), f32([Number.POSITIVE_INFINITY, 1]), 1, 2, 1)
    expect(c[0]).toBeNaN()
  })

  it('rejects lengths that do not match the dimensions, naming which', () => {
    expect(() => matmulReference(new Float32Array(5), new Float32Array(6), 2, 3, 2)).toThrow(
      KernelShapeError,
    )
    expect(() => matmulReference(new Float32Array(6), new Float32Array(5), 2, 3, 2)).toThrow(
      /b\.length \(5\)/,
    )
    expect(() => matmulReference(new Float32Array(0), new Float32Array(0), 0, 3, 2)).toThrow(
      /m must be a positive integer/,
    )
    expect(() => matmulReference(new Float32Array(3), new Float32Array(3), 1.5, 2, 1.5)).toThrow(
      KernelShapeError,
    )
  })
})

describe('matmulReferenceWithBound', () => {
  it('returns |A|·|B| alongside the product', () => {
    const { c, bound } = matmulReferenceWithBound(f32([1, -2]), f32([3, 4]), 1, 2, 1)
    expect([...c]).toEqual([-5])
    expect([...bound]).toEqual([11])
  })

  it('agrees with matmulReference', () => {
    const a = Float32Array.from({ length: 12 }, (_, i) => i - 6)
    const b = Float32Array.from({ length: 8 }, (_, i) => 1 / (i + 1))
    expect(matmulReferenceWithBound(a, b, 3, 4, 2).c).toEqual(matmulReference(a, b, 3, 4, 2))
  })
})
