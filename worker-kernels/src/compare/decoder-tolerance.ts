/**
 * How close two computations of a decoder stage must be to count as the same answer.
 *
 * Floating point differs across GPU vendors (reduction order, fused multiply-add, subnormal
 * flushing, f16 arithmetic), so a stage's activations are never compared bit for bit. The
 * tolerance is derived from the format the stage computes in and the longest reduction it
 * runs: each dot product of length K in unit roundoff u is off by about √K·u relative to
 * the magnitudes it combines (random-walk rounding; γ_K = K·u is the worst case, which real
 * kernels never approach), and the residual stream carries each layer's error into the
 * next, so errors add up over the layers. A safety factor covers softmax's exponent and
 * the norms' division. Differences are measured per row against the row's RMS, since the
 * residual stream's scale grows through the layers.
 *
 * An honest GPU lands orders of magnitude inside the bound; a stage that adds noise,
 * skips a layer or uses other weights lands orders of magnitude outside it.
 */
import type { DecoderConfig } from '@tabswarm/protocol'
import { F32_UNIT_ROUNDOFF } from './tolerance-model.ts'

/** Unit roundoff of the arithmetic a stage computes in. */
export const DECODER_UNIT_ROUNDOFF = { float32: F32_UNIT_ROUNDOFF, float16: 2 ** -11 } as const

/** Headroom over the random-walk estimate (softmax, norms, activations' own rounding). */
export const DECODER_SAFETY_FACTOR = 64

/** No tolerance is tighter than this (relative to the row's RMS). */
export const MIN_DECODER_TOLERANCE = 1e-5

/** No tolerance is looser than this: past it, a wrong stage could pass. */
export const MAX_DECODER_TOLERANCE = 0.05

/**
 * The relative tolerance (per row, against the row's RMS) of the activations a stage of
 * `layers` layers computes in `compute` arithmetic, with `kvLength` positions of context.
 *
 * @example
 * const tolerance = decoderTolerance(config, { layers: 2, kvLength: 40, compute: 'float32' })
 */
export function decoderTolerance(
  config: DecoderConfig,
  stage: { layers: number; kvLength: number; compute: 'float32' | 'float16' },
): number {
  const reduction = Math.max(
    config.hiddenSize,
    config.intermediateSize,
    config.heads * config.headDim,
    stage.kvLength,
  )
  const u = DECODER_UNIT_ROUNDOFF[stage.compute]
  const estimate = DECODER_SAFETY_FACTOR * Math.max(1, stage.layers) * Math.sqrt(reduction) * u
  return Math.min(MAX_DECODER_TOLERANCE, Math.max(MIN_DECODER_TOLERANCE, estimate))
}

/** The outcome of a comparison: the worst row's relative error, and whether it is within. */
export type ActivationComparison = {
  ok: boolean
  /** Largest |a − b| of a row over the row's RMS (of `b`), over all rows; NaN is Infinity. */
  worstError: number
  /** Row of the worst error. */
  worstRow: number
  tolerance: number
}

/**
 * Compare activations `a` against `b` (the reference or the other replica), both
 * `[rows, cols]` row-major, within `tolerance` of each row's RMS. Non-finite values in
 * either fail. Throws `RangeError` when the lengths are not `rows × cols`.
 */
export function compareActivations(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  cols: number,
  tolerance: number,
): ActivationComparison {
  if (!(Number.isInteger(cols) && cols > 0) || b.length % cols !== 0 || a.length !== b.length)
    throw new RangeError(
      `activations of ${a.length} and ${b.length} values are not the same whole rows of ${cols}`,
    )
  const rows = b.length / cols
  let worstError = 0
  let worstRow = 0
  for (let r = 0; r < rows; r++) {
    let squares = 0
    let largest = 0
    for (let c = 0; c < cols; c++) {
      const x = a[r * cols + c] as number
      const y = b[r * cols + c] as number
      squares += y * y
      const difference = Math.abs(x - y)
      // NaN compares false with everything: count it as an infinite difference.
      largest = difference > largest || Number.isNaN(difference) ? difference : largest
    }
    const rms = Math.sqrt(squares / cols)
    const error =
      Number.isFinite(largest) && Number.isFinite(rms) ? largest / Math.max(rms, 1e-30) : Infinity
    if (error > worstError || !Number.isFinite(error)) {
      worstError = Number.isNaN(error) ? Infinity : error
      worstRow = r
      if (!Number.isFinite(worstError)) break
    }
  }
  return { ok: worstError <= tolerance, worstError, worstRow, tolerance }
}

/** The largest logits of one position, largest first: what the last stage returns. */
export type TopLogits = { ids: ArrayLike<number>; logits: ArrayLike<number> }

/** The outcome of comparing two top-logit lists. */
export type TopLogitsComparison = {
  ok: boolean
  /** What disagrees, for the verdict's reason; absent when `ok`. */
  problem?: string
}

/**
 * Compare the top logits `a` against `b` (reference or other replica) within `tolerance`
 * of the scale of `b`'s logits (their largest magnitude): every id in both lists must have
 * close logits; an id in only one list must be within tolerance of the other list's
 * smallest (a near tie at the cut); the largest must agree unless the two leading logits
 * are within tolerance of each other. Non-finite logits fail.
 */
export function compareTopLogits(
  a: TopLogits,
  b: TopLogits,
  tolerance: number,
): TopLogitsComparison {
  if (
    a.ids.length !== a.logits.length ||
    b.ids.length !== b.logits.length ||
    a.ids.length !== b.ids.length
  )
    return {
      ok: false,
      problem: `top-logit lists of ${a.ids.length} and ${b.ids.length} entries differ in length`,
    }
  const count = b.ids.length
  if (count === 0) return { ok: true }
  let scale = 0
  for (let i = 0; i < count; i++) {
    const x = a.logits[i] as number
    const y = b.logits[i] as number
    if (!Number.isFinite(x) || !Number.isFinite(y))
      return { ok: false, problem: `logit ${i} is not finite` }
    scale = Math.max(scale, Math.abs(y))
  }
  const slack = tolerance * Math.max(scale, 1e-30)
  const inB = new Map<number, number>()
  for (let i = 0; i < count; i++) inB.set(b.ids[i] as number, b.logits[i] as number)
  const inA = new Map<number, number>()
  for (let i = 0; i < count; i++) inA.set(a.ids[i] as number, a.logits[i] as number)
  const smallestA = a.logits[count - 1] as number
  const smallestB = b.logits[count - 1] as number
  for (const [id, x] of inA) {
    const y = inB.get(id)
    if (y === undefined) {
      if (x > smallestB + slack)
        return {
          ok: false,
          problem: `token ${id} has logit ${x}, above every logit the reference keeps past ${smallestB}`,
        }
    } else if (Math.abs(x - y) > slack) {
      return {
        ok: false,
        problem: `token ${id}'s logit is ${x}, the reference's ${y} (tolerance ${slack})`,
      }
    }
  }
  for (const [id, y] of inB)
    if (!inA.has(id) && y > smallestA + slack)
      return { ok: false, problem: `token ${id} (logit ${y}) is missing from the top ${count}` }
  const topA = a.ids[0] as number
  const topB = b.ids[0] as number
  if (topA !== topB && Math.abs((b.logits[0] as number) - (inB.get(topA) ?? -Infinity)) > slack)
    return { ok: false, problem: `the most likely token is ${topA}, the reference's ${topB}` }
  return { ok: true }
}
