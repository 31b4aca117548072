import { compareMatmul, matmulReferenceWithBound } from '@tabswarm/worker-kernels'

/** The CPU reference of a matmul, with the element bounds its comparison needs. */
export interface MatmulReference {
  c: Float32Array
  bound: Float64Array | Float32Array
  m: number
  k: number
  n: number
}

export function referenceProduct(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
): MatmulReference {
  const { c, bound } = matmulReferenceWithBound(a, b, m, k, n)
  return { c, bound, m, k, n }
}

/**
 * Tiles of `output` (row-major m×n, cut in `tile`×`tile` blocks, row-major tile order) that
 * differ from the CPU reference beyond the f32 tolerance of `compareMatmul`. Each tile is
 * one task, so this is the number of wrong results in the job's output.
 */
export function wrongTiles(output: Float32Array, ref: MatmulReference, tile: number): number[] {
  const { m, k, n } = ref
  if (output.length !== m * n) throw new Error(`output has ${output.length} elements, not ${m * n}`)
  const wrong: number[] = []
  const cols = Math.ceil(n / tile)
  for (let ti = 0; ti < Math.ceil(m / tile); ti++) {
    for (let tj = 0; tj < cols; tj++) {
      const actual: number[] = []
      const expected: number[] = []
      const bound: number[] = []
      for (let i = ti * tile; i < Math.min(m, (ti + 1) * tile); i++) {
        for (let j = tj * tile; j < Math.min(n, (tj + 1) * tile); j++) {
          actual.push(output[i * n + j]!)
          expected.push(ref.c[i * n + j]!)
          bound.push(ref.bound[i * n + j]!)
        }
      }
      if (!compareMatmul(actual, expected, { k, bound }).ok) wrong.push(ti * cols + tj)
    }
  }
  return wrong
}
