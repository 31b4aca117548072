import { compareMatmul, matmulReferenceWithBound } from '@tabswarm/worker-kernels'

/** Decides whether a contributor's output tile is the product of its inputs. */
export type TileVerifier = (tile: {
  a: Float32Array
  b: Float32Array
  m: number
  k: number
  n: number
  output: Float32Array
}) => { ok: true } | { ok: false; reason: string }

/**
 * Recomputes the tile on the CPU and compares each element under the f32 rounding bound
 * γ_k·Σ|a||b| for that element. Exact but O(m·k·n); Freivalds' O(n²) check replaces it for big tiles.
 */
export const cpuReferenceVerifier: TileVerifier = ({ a, b, m, k, n, output }) => {
  const { c: expected, bound } = matmulReferenceWithBound(a, b, m, k, n)
  const cmp = compareMatmul(output, expected, { k, bound })
  if (cmp.ok) return { ok: true }
  return {
    ok: false,
    reason: `${cmp.mismatches} of ${output.length} elements outside tolerance (worst at ${cmp.worstIndex}, |err| ${cmp.maxAbsError.toExponential(2)})`,
  }
}
