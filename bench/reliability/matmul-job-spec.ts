import type { MatmulJobSpec } from '@tabswarm/protocol'

/**
 * The spec of a float32 matmul job over two stored blobs, A (m×k) and B (k×n): the one job
 * every reliability suite submits, with its own verification policy and budget.
 */
export function matmulJobSpec(
  blobs: { a: string; b: string },
  shape: { m: number; k: number; n: number },
  extra: Pick<MatmulJobSpec, 'verification' | 'budget'> = {},
): MatmulJobSpec {
  const { m, k, n } = shape
  return {
    kernel: 'matmul',
    inputs: {
      a: { blob: blobs.a, dtype: 'float32', shape: [m, k] },
      b: { blob: blobs.b, dtype: 'float32', shape: [k, n] },
    },
    ...extra,
  }
}
