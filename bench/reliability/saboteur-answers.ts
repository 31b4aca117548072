import { matmulReferenceWithBound } from '@tabswarm/worker-kernels'
import type { SeededRandom } from './seeded-random.ts'
import type { TileAnswer } from './sim-contributor.ts'

/** How each kind of saboteur answers a tile. */
export type SaboteurKind = 'noise' | 'above-tolerance' | 'colluder' | 'copier'

/** Random values where the product should be. */
export const noiseAnswer =
  (random: SeededRandom): TileAnswer =>
  (right) =>
    Float32Array.from(right, () => random.next() * 4 - 2)

/**
 * The right tile with its first element off by twice its tolerance in `compareMatmul`
 * (worker-kernels/src/compare/matmul-tolerance.ts): γₖ·(|A|·|B|) + u·|c| + 2k·2⁻¹²⁶. Just
 * wrong, and well inside what Freivalds' row check lets through: only a recomputation sees it.
 */
export const aboveToleranceAnswer: TileAnswer = (right, { a, b, m, k, n }) => {
  const { c, bound } = matmulReferenceWithBound(a, b, m, k, n)
  const u = 2 ** -24
  const gamma = (k * u) / (1 - k * u)
  const tolerance = gamma * bound[0]! + u * Math.abs(c[0]!) + 2 * k * 2 ** -126
  const out = Float32Array.from(right)
  out[0] = c[0]! + 2 * tolerance
  // f32 rounding must not bring it back inside.
  if (Math.abs(out[0]! - c[0]!) <= tolerance) out[0] = c[0]! + 4 * tolerance + 1e-30
  return out
}

/** The same wrong tile from every colluder: the right one with one element moved by 0.5. */
export const colluderAnswer: TileAnswer = (right) =>
  Float32Array.from(right, (x, i) => (i === 0 ? x + 0.5 : x))

/**
 * Copies an accepted result of another task. The results stream is its owner's alone (the
 * API answers JOB_NOT_FOUND to anyone else), so `acceptedBlobs` hands the copier the
 * coordinator's own list of accepted outputs, the most a copier could ever learn; it then
 * downloads the bytes as anyone can (blobs are content-addressed). With nothing of the
 * right size to copy, it guesses zeros.
 */
export function copierAnswer(
  relayUrl: string,
  acceptedBlobs: () => Promise<Array<{ blob: string; elements: number }>>,
  random: SeededRandom,
  tally: { copied: number; guessed: number } = { copied: 0, guessed: 0 },
): TileAnswer {
  return async (right) => {
    const candidates = (await acceptedBlobs()).filter((r) => r.elements === right.length)
    if (candidates.length === 0) {
      tally.guessed++
      return new Float32Array(right.length)
    }
    tally.copied++
    const { blob } = random.pick(candidates)
    const response = await fetch(`${relayUrl}/v1/blobs/${blob}`, {
      signal: AbortSignal.timeout(5_000),
    })
    if (!response.ok) throw new Error(`GET /v1/blobs answered ${response.status}`)
    return new Float32Array(await response.arrayBuffer())
  }
}
