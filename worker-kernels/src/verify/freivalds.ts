import {
  F64_UNIT_ROUNDOFF,
  FLUSH_SLACK,
  gamma as gammaOf,
  MATMUL_FLOAT_DTYPE,
  type MatmulDtype,
  STORE_ROUNDING,
  STORED_SUBNORMAL_SLACK,
} from '../compare/tolerance-model.ts'
import { KernelShapeError } from '../errors.ts'
import { assertMatmulShape } from '../kernels/matmul/matmul-shape.ts'

/** Options of `freivaldsCheck`. */
export interface FreivaldsOptions {
  /**
   * Independent random vectors to test with. Each round costs O(mk + kn + mn) and at
   * least halves the chance of missing a wrong result (see `freivaldsCheck`).
   * @default 2
   */
  rounds?: number
  /**
   * Source of uniform numbers in [0, 1). Pass a seeded generator only in tests: a
   * contributor who can predict r can forge a result that passes.
   * @default crypto.getRandomValues (a CSPRNG)
   */
  random?: () => number
  /**
   * Storage format of `c`: `f32`, or `f16` (f16 operands and result decoded into the
   * Float32Arrays, f32 accumulation, one rounding of the result to f16).
   * @default 'f32'
   */
  dtype?: MatmulDtype
}

/** Outcome of `freivaldsCheck`. */
export interface FreivaldsResult {
  /** True when every row of every round lies within its tolerance. */
  ok: boolean
  /** Rounds run: all of them when `ok`, else up to and including the first failing one. */
  rounds: number
  /** Row with the largest deviation/tolerance ratio over the rounds run. */
  worstRow?: number
  /** `|(C·r)ᵢ − (A·(B·r))ᵢ|` at `worstRow` (Infinity when C's row holds NaN or ±Infinity). */
  maxDeviation?: number
  /** The tolerance at `worstRow`: `ok` means every deviation is at most its row's tolerance. */
  tolerance?: number
}

/** Operands and claimed product of `C[m×n] = A[m×k] · B[k×n]`, row-major. */
export interface FreivaldsTarget {
  a: Float32Array
  b: Float32Array
  c: Float32Array
  m: number
  k: number
  n: number
}

/** Upper bound on `rounds`: 64 rounds already leave at most 2⁻⁶⁴ to chance. */
export const MAX_FREIVALDS_ROUNDS = 64

/** Smallest |rᵢ|: entries are ±U[½, 1), see `freivaldsCheck`. */
const MIN_R = 0.5

function cryptoRandom(): () => number {
  const pool = new Uint32Array(1024)
  let next = pool.length
  return () => {
    if (next === pool.length) {
      crypto.getRandomValues(pool)
      next = 0
    }
    return (pool[next++] as number) / 2 ** 32
  }
}

/** Index of the first non-finite element, or -1. */
function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i] as number)) return i
  }
  return -1
}

function assertTarget(target: FreivaldsTarget): void {
  for (const name of ['a', 'b', 'c'] as const) {
    if (!(target[name] instanceof Float32Array)) {
      throw new KernelShapeError(`${name} must be a Float32Array.`)
    }
  }
  assertMatmulShape(target)
  const { c, m, n } = target
  if (c.length !== m * n) {
    throw new KernelShapeError(
      `c.length (${c.length}) must equal m*n (${m}*${n} = ${m * n}) for C[m×n] row-major.`,
    )
  }
  for (const name of ['a', 'b'] as const) {
    const at = firstNonFinite(target[name])
    if (at >= 0) {
      throw new KernelShapeError(
        `${name}[${at}] is ${target[name][at]}: Freivalds' check needs finite operands.`,
      )
    }
  }
}

/**
 * Probabilistic check that `c` is the product `A·B`, in O(mk + kn + mn) per round
 * instead of the O(mkn) of recomputing it: for random vectors r it compares
 * `C·r` with `A·(B·r)`, row by row, on the CPU in f64.
 *
 * **Tolerance.** A correct f32 kernel does not return `A·B` exactly: any summation order
 * gives `C = A·B + E` with `|E| ≤ γₖ·(|A|·|B|)` elementwise (Higham, Thm 3.5), so
 * `|(E·r)ᵢ| ≤ γₖ·(|A|·(|B|·|r|))ᵢ`. That magnitude costs O(mk + kn) like the check itself.
 * Row i passes when
 *
 *   |(C·r)ᵢ − (A·(B·r))ᵢ| ≤ γₖ·(|A|·(|B|·|r|))ᵢ + u_out·(|C|·|r|)ᵢ + floor·Σ|r| + f64 slack
 *
 * with u_out, floor = 0 for f32 and the f16 rounding of the result for f16; flushed
 * subnormals and this function's own f64 rounding add terms far below f32 resolution.
 * It is a worst-case bound, so a correct kernel cannot fail it; it is never an
 * exact-equality test.
 *
 * **Detection.** Entries of r are `±v` with a random sign and v uniform in [½, 1), drawn
 * fresh each round from a CSPRNG after the result exists. Let C = A·B + E + D, where E is
 * honest rounding and D the corruption, and let row i hold a corrupted entry `|Dᵢⱼ| = δ`.
 * Row i's deviation is `δ·rⱼ + (rest)`, and rⱼ is independent of the rest:
 * - one corrupted element in the row: |δ·rⱼ| ≥ δ/2, while honest rounding stays within the
 *   tolerance τᵢ, so every round catches it for sure once δ > 4τᵢ. In practice the
 *   honest part is orders of magnitude below τᵢ and anything above about 2τᵢ is caught.
 * - several corrupted elements (a swapped pair of columns, a zeroed tile): flipping rⱼ's
 *   sign moves the deviation by 2δv ≥ δ > 2τᵢ, so at most one sign passes, and for a
 *   fixed sign rⱼ has density 2 on its range, so a miss needs rⱼ in a window of width
 *   2τᵢ/δ. A round misses with probability at most min(½, 4τᵢ/δ), and `rounds` rounds
 *   with at most min(½, 4τᵢ/δ)^rounds.
 * Random signs alone (r ∈ {±1}) would miss a swapped pair of columns half the time;
 * random magnitudes alone (r ∈ [-1, 1]) would miss a single small error when rⱼ ≈ 0.
 *
 * **Sensitivity.** τᵢ sums the per-element rounding bounds of row i, so it is about n
 * times the tolerance `compareMatmul` gives one element: this check catches wrong work
 * (garbage, skipped tiles, swapped or shifted columns, errors above a few τᵢ), not
 * errors within a few ulps. Recomputing a sample of tiles with `compareMatmul` covers
 * those.
 *
 * Operands must be finite (`KernelShapeError` otherwise); NaN or ±Infinity in `c`
 * fails the row. If the exact product overflows f32, an honest kernel returns ±Infinity
 * and fails too.
 *
 * @example
 * const c = await host.run({ kernel: 'matmul', a, b, m, k, n })
 * const { ok, worstRow } = freivaldsCheck({ a, b, c, m, k, n })
 * if (!ok) reject(`row ${worstRow} is not A·B`)
 */
export function freivaldsCheck(
  target: FreivaldsTarget,
  options: FreivaldsOptions = {},
): FreivaldsResult {
  const rounds = options.rounds ?? 2
  if (!Number.isSafeInteger(rounds) || rounds < 1 || rounds > MAX_FREIVALDS_ROUNDS) {
    throw new KernelShapeError(
      `rounds must be an integer from 1 to ${MAX_FREIVALDS_ROUNDS}, got ${String(rounds)}.`,
    )
  }
  const dtype = options.dtype ?? 'f32'
  if (dtype !== 'f32' && dtype !== 'f16') {
    throw new KernelShapeError(`dtype must be f32 or f16, got ${String(dtype)}.`)
  }
  if (options.random !== undefined && typeof options.random !== 'function') {
    throw new KernelShapeError('random must be a function returning numbers in [0, 1).')
  }
  assertTarget(target)
  const { a, b, c, m, k, n } = target
  const random = options.random ?? cryptoRandom()

  const format = MATMUL_FLOAT_DTYPE[dtype]
  const gamma = gammaOf(k)
  // γₖ covers an f32 result as stored; an f16 result is rounded once more.
  const outputRoundoff = gammaOf(1, STORE_ROUNDING[format])
  const floorPerR = STORED_SUBNORMAL_SLACK[format] + 2 * k * FLUSH_SLACK
  // The check's own f64 rounding: B·r (n terms), then A·(B·r) (k terms) against C·r
  // (n terms), each bounded by γ over the magnitudes it sums.
  const ownSlack = gammaOf(n + k + 2, F64_UNIT_ROUNDOFF)

  const r = new Float64Array(n)
  const br = new Float64Array(k)
  const brAbs = new Float64Array(k)
  let worst = { ratio: -1, row: -1, deviation: 0, tolerance: 0 }

  for (let round = 1; round <= rounds; round++) {
    let rAbsSum = 0
    for (let j = 0; j < n; j++) {
      const x = random()
      if (!(x >= 0 && x < 1)) {
        throw new KernelShapeError(`random() must return numbers in [0, 1), got ${x}.`)
      }
      // One draw gives both: the sign from x < ½, the magnitude from the rest, uniform in [½, 1).
      const twice = 2 * x
      const sign = twice < 1 ? -1 : 1
      const magnitude = MIN_R + (twice - Math.floor(twice)) * (1 - MIN_R)
      r[j] = sign * magnitude
      rAbsSum += magnitude
    }

    // B·r and |B|·|r|: f32 values are exact in f64, so only the sums round.
    for (let p = 0; p < k; p++) {
      let sum = 0
      let sumAbs = 0
      const offset = p * n
      for (let j = 0; j < n; j++) {
        const product = (b[offset + j] as number) * (r[j] as number)
        sum += product
        sumAbs += Math.abs(product)
      }
      br[p] = sum
      brAbs[p] = sumAbs
    }

    let failed = false
    for (let i = 0; i < m; i++) {
      let expected = 0
      let magnitude = 0
      const aOffset = i * k
      for (let p = 0; p < k; p++) {
        const aip = a[aOffset + p] as number
        expected += aip * (br[p] as number)
        magnitude += Math.abs(aip) * (brAbs[p] as number)
      }
      let actual = 0
      let actualMagnitude = 0
      const cOffset = i * n
      for (let j = 0; j < n; j++) {
        const product = (c[cOffset + j] as number) * (r[j] as number)
        actual += product
        actualMagnitude += Math.abs(product)
      }
      const tolerance =
        gamma * magnitude +
        outputRoundoff * actualMagnitude +
        floorPerR * rAbsSum +
        ownSlack * (magnitude + actualMagnitude)
      // NaN or ±Infinity in C makes `actual` non-finite: that row fails, never passes.
      const deviation = Number.isFinite(actual)
        ? Math.abs(actual - expected)
        : Number.POSITIVE_INFINITY
      const within = deviation <= tolerance
      let ratio = tolerance > 0 ? deviation / tolerance : deviation > 0 ? Infinity : 0
      if (!within && !(ratio > 1)) ratio = Number.POSITIVE_INFINITY
      if (ratio > worst.ratio) worst = { ratio, row: i, deviation, tolerance }
      if (!within) failed = true
    }
    if (failed) return report(false, round, worst)
  }
  return report(true, rounds, worst)
}

function report(
  ok: boolean,
  rounds: number,
  worst: { row: number; deviation: number; tolerance: number },
): FreivaldsResult {
  return {
    ok,
    rounds,
    worstRow: worst.row,
    maxDeviation: worst.deviation,
    tolerance: worst.tolerance,
  }
}
