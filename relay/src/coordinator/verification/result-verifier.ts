import type { OutputSpec, VerificationPolicy } from '@tabswarm/protocol'
import { alignedViewAs, tensorByteLength } from '@tabswarm/protocol'
import { freivaldsCheck } from '@tabswarm/worker-kernels'
import type { ResultTensor } from '../coordinator-api.ts'
import type { InferenceInputs } from '../inference/inference-inputs.ts'
import { inferenceOutputs } from '../inference/inference-lease.ts'
import {
  type CustomInputs,
  type MatmulInputs,
  type Replica,
  tileOperands,
} from '../jobs/job-runtime.ts'
import { groupCredibility } from './credibility.ts'
import { replicasAgree } from './replica-comparator.ts'
import type { TileVerifier } from './tile-verifier.ts'

/** What an algebraic check or a recomputation of one matmul tile says. */
export type TileVerdict =
  | { kind: 'accept'; method: 'spot-check' | 'freivalds'; recomputedFlops: number }
  | { kind: 'reject'; method: 'spot-check' | 'freivalds'; reason: string; recomputedFlops: number }
  /** Not checked (the policy samples Freivalds below 1): the result goes to a vote. */
  | { kind: 'unchecked' }

/** What the replicas of one task say together. */
export type VoteVerdict =
  | {
      kind: 'accept'
      method: 'replication' | 'trusted'
      winners: Replica[]
      /** Replicas that contradict the winners: each is a fault. */
      losers: Replica[]
    }
  | {
      kind: 'pending'
      /** `maxReplicas` results and no credible agreement: drop them and start over. */
      exhausted: boolean
      reason?: string
    }

export interface ResultVerifierOptions {
  /** Uniform [0, 1) numbers for sampling and Freivalds' vectors; contributors must not predict it. */
  random: () => number
  /** Full recomputation of a band of a tile. */
  recompute: TileVerifier
  freivaldsRounds: number
  /** A contributor with fewer verified results than this has every matmul result recomputed. */
  newcomerSpotChecks: number
  /** Fraction of matmul results recomputed when the policy names no `spotCheck`. */
  spotCheckRate: number
  /** Most flops one recomputation spends: a random band of rows of a bigger tile. */
  spotCheckFlops: number
  /** Probability a lone credible result must reach, under the default policy, to stand alone. */
  targetErrorRate: number
  maxReplicas: number
}

export interface ResultVerifier {
  /** Why the outputs are not what the task declares (count, dtype, shape, bytes), or undefined. */
  shapeMismatch(
    inputs: MatmulInputs | CustomInputs | InferenceInputs,
    index: number,
    outputs: readonly ResultTensor[],
  ): string | undefined
  /**
   * A matmul tile: recomputed (a newcomer's, or a sampled fraction), else Freivalds' check
   * (a sampled fraction, all by default), else unchecked. `verified` is the submitter's
   * evidence. Assumes `shapeMismatch` passed.
   */
  checkTile(
    inputs: MatmulInputs,
    index: number,
    output: ResultTensor,
    policy: VerificationPolicy,
    verified: number,
  ): TileVerdict
  /**
   * The task's replicas, grouped by agreement and weighed by credibility (`credibilityOf`
   * each replica's contributor): which group, if any, is accepted. Replicas agree by
   * `replicasAgree` unless `agree` says otherwise (decoder results: within a tolerance).
   */
  vote(
    replicas: readonly Replica[],
    policy: VerificationPolicy,
    credibilityOf: (replica: Replica) => number,
    agree?: (x: readonly ResultTensor[], y: readonly ResultTensor[]) => boolean,
  ): VoteVerdict
  /** Whether a canary's answer matches the known one. */
  matchesKnown(known: readonly ResultTensor[], outputs: readonly ResultTensor[]): boolean
}

const describe = (outputs: ReadonlyArray<{ dtype: string; shape: readonly number[] }>) =>
  outputs.map((o) => `${o.dtype}[${o.shape.join(', ')}]`).join(', ')

/**
 * Decides, without side effects on any state, whether a result is right: the verdict is
 * applied by the caller in one transaction (result, payments, faults). Pure but for the
 * random numbers it draws.
 */
export function createResultVerifier(options: ResultVerifierOptions): ResultVerifier {
  const { random } = options
  const freivalds = (operands: ReturnType<typeof tileOperands>, c: Float32Array) =>
    freivaldsCheck({ ...operands, c }, { rounds: options.freivaldsRounds, random })

  return {
    shapeMismatch(inputs, index, outputs) {
      const expected: OutputSpec[] =
        inputs.kind === 'matmul'
          ? [{ shape: [inputs.tiles[index]!.rows, inputs.tiles[index]!.cols], dtype: 'float32' }]
          : inputs.kind === 'inference'
            ? inferenceOutputs(inputs, index)
            : inputs.spec.tasks[index]!.outputs
      const fits =
        outputs.length === expected.length &&
        outputs.every((o, i) => {
          const want = expected[i]!
          return (
            o.dtype === want.dtype &&
            o.shape.length === want.shape.length &&
            o.shape.every((d, j) => d === want.shape[j]) &&
            o.bytes.byteLength === tensorByteLength(want.shape, o.dtype)
          )
        })
      return fits ? undefined : `outputs ${describe(outputs)} are not ${describe(expected)}`
    },

    checkTile(inputs, index, output, policy, verified) {
      const operands = tileOperands(inputs, index)
      const c = alignedViewAs('float32', output.bytes)
      // Freivalds catches gross errors anywhere but tolerates about n elements' rounding
      // per row; recomputing rows exactly catches the subtle ones. Every result of a
      // contributor without a record is recomputed, so a cheat is caught on its first try;
      // a sampled fraction of everyone's, so one honest for long is caught if it turns.
      const newcomer = verified < options.newcomerSpotChecks
      if (newcomer || random() < (policy.spotCheck ?? options.spotCheckRate)) {
        const { a, b, m, k, n } = operands
        const rows = Math.max(1, Math.min(m, Math.floor(options.spotCheckFlops / (2 * k * n))))
        const start = rows === m ? 0 : Math.floor(random() * (m - rows + 1))
        const recomputedFlops = 2 * rows * k * n
        const quick = freivalds(operands, c)
        const exact = quick.ok
          ? options.recompute({
              a: a.subarray(start * k, (start + rows) * k),
              b,
              m: rows,
              k,
              n,
              output: c.subarray(start * n, (start + rows) * n),
            })
          : { ok: false as const, reason: `Freivalds check failed at row ${quick.worstRow}` }
        return exact.ok
          ? { kind: 'accept', method: 'spot-check', recomputedFlops }
          : { kind: 'reject', method: 'spot-check', reason: exact.reason, recomputedFlops }
      }
      if (random() < (policy.freivalds ?? 1)) {
        const check = freivalds(operands, c)
        if (check.ok) return { kind: 'accept', method: 'freivalds', recomputedFlops: 0 }
        return {
          kind: 'reject',
          method: 'freivalds',
          reason: `Freivalds check failed at row ${check.worstRow} (deviation ${check.maxDeviation?.toExponential(2)} > tolerance ${check.tolerance?.toExponential(2)})`,
          recomputedFlops: 0,
        }
      }
      return { kind: 'unchecked' }
    },

    vote(replicas, policy, credibilityOf, agree = replicasAgree) {
      const groups: Replica[][] = []
      for (const replica of replicas) {
        const group = groups.find((g) => agree(g[0]!.outputs, replica.outputs))
        if (group != null) group.push(replica)
        else groups.push([replica])
      }
      const probabilities = groupCredibility(groups.map((g) => g.map(credibilityOf)))
      // An explicit `replication` is a fixed quorum (BOINC's min_quorum): the first group
      // of that many distinct contributors that outnumbers every other group wins. With
      // `maxErrorRate`, only credibility decides (Sarmenta). By default (BOINC's adaptive
      // replication) two distinct contributors who outnumber every other answer suffice,
      // and one whose credibility alone reaches 1 − targetErrorRate needs nobody.
      const quorum = policy.replication
      let best = -1
      for (let g = 0; g < groups.length; g++) {
        const size = groups[g]!.length
        const majority = groups.every((other, h) => h === g || other.length < size)
        const credible =
          quorum != null
            ? size >= quorum && majority
            : policy.maxErrorRate != null
              ? probabilities[g]! >= 1 - policy.maxErrorRate
              : probabilities[g]! >= 1 - options.targetErrorRate || (size >= 2 && majority)
        if (credible) best = g
      }
      if (best < 0) {
        if (replicas.length < options.maxReplicas) return { kind: 'pending', exhausted: false }
        const need = quorum != null && quorum > 1 ? `${quorum} ` : ''
        return {
          kind: 'pending',
          exhausted: true,
          reason: `no ${need}credible agreement among ${replicas.length} results`,
        }
      }
      const winners = groups[best]!
      return {
        kind: 'accept',
        method: winners.length > 1 ? 'replication' : 'trusted',
        winners,
        losers: groups.filter((_, g) => g !== best).flat(),
      }
    },

    matchesKnown: (known, outputs) => replicasAgree(known, outputs),
  }
}
