import { describe, expect, it } from 'vitest'
import { productMismatch } from '../support/product-check.ts'
import { randomMatrix } from '../support/random-matrix.ts'

// The end-to-end test trusts `productMismatch` to notice a wrong product; prove it does.
describe('productMismatch', () => {
  const [m, k, n] = [30, 20, 13]
  const a = randomMatrix(m, k, 3)
  const b = randomMatrix(k, n, 4)
  const right = new Float32Array(m * n)
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let sum = 0
      for (let p = 0; p < k; p++) sum += a[i * k + p]! * b[p * n + j]!
      right[i * n + j] = sum
    }

  it('accepts the product', () => {
    expect(productMismatch(right, a, b, m, k, n)).toBeUndefined()
  })

  it('notices one wrong element', () => {
    const wrong = right.slice()
    wrong[177]! += 0.01
    expect(productMismatch(wrong, a, b, m, k, n)).toMatch(/1 elements differ/)
  })

  it('notices a transposed or truncated product', () => {
    expect(productMismatch(right.subarray(1), a, b, m, k, n)).toMatch(/elements, expected/)
  })
})
