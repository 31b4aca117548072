import {
  elementCount,
  type JobSpec,
  JobSpecSchema,
  MAX_JOB_OUTPUT_ELEMENTS,
  MAX_JOB_TASKS,
  MAX_MATMUL_OUTPUT_ELEMENTS,
  MAX_PAYLOAD_BYTES,
  tensorByteLength,
} from '@tabswarm/protocol'
import { CoordinatorError } from '../coordinator-error.ts'
import { inferenceTaskCount } from '../inference/inference-inputs.ts'
import { modelParameters } from '../inference/model-weights.ts'
import { newcomerQuorum } from '../verification/credibility.ts'
import { autoTileEdge } from './matmul-tiling.ts'

export interface JobPlannerOptions {
  /** A fixed output tile edge for matmul jobs; unset, tiles are sized per job (`autoTileEdge`). */
  tileSize?: number
  /** GPU time one task should take on the median contributor. */
  targetTaskSeconds: number
  /** Longest GPU time of one task on the median contributor. */
  maxTaskSeconds: number
  /** Largest input payload of one task. */
  maxTaskInputBytes: number
  /** Credits per million floating-point operations of useful work. */
  creditsPerMegaflop: bigint
  /** Fraction of saboteurs credibility assumes (prices votes among newcomers). */
  assumedFaultRate: number
  /** Most results one task may collect while waiting for agreement. */
  maxReplicas: number
  /** Fraction of decoder results recomputed on the relay when a job's policy names no `spotCheck`. */
  inferenceSpotCheckRate: number
}

/** What a spec costs and how it is cut, decided at submit and fixed for the job's life. */
export interface JobPlan {
  tasks: number
  /** Useful floating-point operations (custom kernels: an estimate, 1,000 per output element). */
  flops: number
  /** Credits per accepted task replica. */
  taskCredits: bigint
  /** Credits escrowed when the spec names no `budget`. */
  credits: bigint
  /** Matmul: the output tile edge. */
  edge?: number
}

/** `⌈a / b⌉` of non-negative integers, exactly. */
const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b

/** A fraction of the spec (0..1, a float) in exact parts per million. */
const PPM = 1_000_000n
const ppm = (fraction: number): bigint => BigInt(Math.round(fraction * 1e6))

/** Credits for `flops` operations at `perMegaflop`, rounded up, at least 1. */
function creditsFor(flops: number, perMegaflop: bigint): bigint {
  const credits = ceilDiv(BigInt(flops) * perMegaflop, PPM)
  return credits > 1n ? credits : 1n
}

/**
 * Useful floating-point operations of a valid spec, as its quote counts them: 2mkn for a
 * matmul; for a custom kernel, whose cost is unknown to us, 1,000 per output element.
 */
export function usefulFlops(spec: JobSpec): number {
  if (spec.kernel === 'matmul') {
    const [m, k] = spec.inputs.a.shape as [number, number]
    return 2 * m * k * (spec.inputs.b.shape[1] as number)
  }
  if (spec.kernel === 'inference') {
    // ≈ 2 flops per parameter per position run: the prompt once, then one position per
    // generated token but the last (whose logits nobody needs).
    let positions = 0
    for (const prompt of spec.prompts) positions += prompt.length + spec.maxNewTokens - 1
    return 2 * modelParameters(spec.model.config) * positions
  }
  let outputElements = 0
  for (const task of spec.tasks)
    for (const out of task.outputs) outputElements += elementCount(out.shape)
  return outputElements * 1000
}

/** What the planner needs to know of the swarm to size tiles. */
export interface SwarmSpeed {
  /** Median measured speed of the contributors online, GFLOP/s. */
  medianGflops: number
  contributors: number
}

export interface JobPlanner {
  /** Validates a spec, or throws `CoordinatorError('INVALID_JOB')` naming the field. */
  parse(spec: unknown): JobSpec
  /** Cuts and prices a valid spec; throws `INVALID_JOB` naming what does not fit. */
  plan(spec: JobSpec, swarm: SwarmSpeed): JobPlan
  /** Fraction of leases that re-issue a task with a known answer (paid like any result). */
  canaryRate(spec: JobSpec): number
}

/**
 * Prices and cuts jobs: matmul into tiles of a fixed or automatic edge, custom jobs as
 * declared; every cap checked before anything is allocated per task or element; the
 * escrow covers what the verification policy pays for.
 */
export function createJobPlanner(options: JobPlannerOptions): JobPlanner {
  const fail = (message: string): never => {
    throw new CoordinatorError('INVALID_JOB', message)
  }

  // Never for inference: a pipeline step's inputs exist only while it is its sequence's
  // current one, and its answer is checked within tolerance, not against a known one.
  const canaryRate = (spec: JobSpec) =>
    spec.kernel === 'inference'
      ? 0
      : (spec.verification?.canaries ?? (spec.kernel === 'custom' ? 0.02 : 0))

  /**
   * Results paid per task decided by a vote, where every agreeing replica is paid: the
   * quorum when one is fixed; with `maxErrorRate`, as many newcomers as it takes to reach
   * it (the escrow refunds what credible contributors save); else BOINC's two.
   */
  function votesPaid(spec: JobSpec): number {
    const policy = spec.verification ?? {}
    if (policy.replication != null) return policy.replication
    if (policy.maxErrorRate != null)
      return newcomerQuorum(options.assumedFaultRate, policy.maxErrorRate, options.maxReplicas)
    return 2
  }

  function planMatmul(spec: Extract<JobSpec, { kernel: 'matmul' }>, swarm: SwarmSpeed): JobPlan {
    const [m, k] = spec.inputs.a.shape as [number, number]
    const n = spec.inputs.b.shape[1] as number
    const edge =
      options.tileSize ??
      autoTileEdge({
        m,
        n,
        k,
        gflops: swarm.medianGflops,
        targetSeconds: options.targetTaskSeconds,
        maxSeconds: options.maxTaskSeconds,
        maxInputBytes: options.maxTaskInputBytes,
        contributors: swarm.contributors,
      })
    const inputBytes = (Math.min(edge, m) + Math.min(edge, n)) * k * 4
    if (inputBytes > options.maxTaskInputBytes)
      fail(
        `inputs: k = ${k} is too long: one ${edge}x${edge} tile would need ${inputBytes} input bytes, max ${options.maxTaskInputBytes}`,
      )
    const tileOutputBytes = Math.min(edge, m) * Math.min(edge, n) * 4
    if (tileOutputBytes > MAX_PAYLOAD_BYTES)
      fail(
        `inputs: one ${edge}x${edge} tile of C is ${tileOutputBytes} bytes, over the ${MAX_PAYLOAD_BYTES}-byte limit of one result message: use a smaller tile size`,
      )
    if (m * n > MAX_MATMUL_OUTPUT_ELEMENTS)
      fail(
        `inputs: C = A·B would be ${m}x${n} = ${m * n} elements, at most ${MAX_MATMUL_OUTPUT_ELEMENTS}`,
      )
    const tiles = Math.ceil(m / edge) * Math.ceil(n / edge)
    if (tiles > MAX_JOB_TASKS)
      fail(
        `inputs: a ${m}x${n} product in ${edge}x${edge} tiles is ${tiles} tasks, at most ${MAX_JOB_TASKS} per job`,
      )
    const tileFlops = 2 * Math.min(edge, m) * k * Math.min(edge, n)
    const taskCredits = creditsFor(tileFlops, options.creditsPerMegaflop)
    // Results paid per tile, in parts per million: a checked tile pays one, an unchecked one
    // a vote's worth; canaries add their rate on top. Exact integers, rounded up once.
    const checked = ppm(spec.verification?.freivalds ?? 1)
    const replication = checked + (PPM - checked) * BigInt(votesPaid(spec))
    return {
      tasks: tiles,
      flops: usefulFlops(spec),
      taskCredits,
      credits: ceilDiv(
        BigInt(tiles) * taskCredits * replication * (PPM + ppm(canaryRate(spec))),
        PPM * PPM,
      ),
      edge,
    }
  }

  function planCustom(spec: Extract<JobSpec, { kernel: 'custom' }>): JobPlan {
    // A custom kernel's cost is unknown to us: count 1,000 operations per output element.
    let outputElements = 0
    let largest = 0
    for (const task of spec.tasks) {
      let elements = 0
      for (const out of task.outputs) elements += elementCount(out.shape)
      outputElements += elements
      largest = Math.max(largest, elements)
      let inputBytes = 0
      for (const ref of task.inputs) inputBytes += tensorByteLength(ref.shape, ref.dtype)
      if (inputBytes > options.maxTaskInputBytes)
        fail(`tasks: a task's inputs are ${inputBytes} bytes, max ${options.maxTaskInputBytes}`)
    }
    if (outputElements > MAX_JOB_OUTPUT_ELEMENTS)
      fail(
        `tasks: the outputs hold ${outputElements} elements together, at most ${MAX_JOB_OUTPUT_ELEMENTS}`,
      )
    const taskCredits = creditsFor(largest * 1000, options.creditsPerMegaflop)
    return {
      tasks: spec.tasks.length,
      flops: usefulFlops(spec),
      taskCredits,
      credits: ceilDiv(
        BigInt(spec.tasks.length) *
          taskCredits *
          BigInt(votesPaid(spec)) *
          (PPM + ppm(canaryRate(spec))),
        PPM,
      ),
    }
  }

  /**
   * An inference job (its pipeline `stages` resolved): priced by useful flops, spread evenly
   * over its tasks (a prefill costs more than a token's step, a closed task nothing: the
   * escrow refunds it). Results paid per task as for matmul: a recomputed one pays one, an
   * unchecked one a vote's worth.
   */
  function planInference(spec: Extract<JobSpec, { kernel: 'inference' }>): JobPlan {
    const tasks = inferenceTaskCount(spec)
    if (tasks > MAX_JOB_TASKS)
      fail(
        `prompts: ${spec.prompts.length} prompts × ${spec.maxNewTokens} tokens × ${spec.stages ?? 1} stages is ${tasks} tasks, at most ${MAX_JOB_TASKS} per job: fewer prompts or tokens per job`,
      )
    const flops = usefulFlops(spec)
    const taskCredits = creditsFor(Math.ceil(flops / tasks), options.creditsPerMegaflop)
    const checked = ppm(spec.verification?.spotCheck ?? options.inferenceSpotCheckRate)
    const replication = checked + (PPM - checked) * BigInt(votesPaid(spec))
    return {
      tasks,
      flops,
      taskCredits,
      credits: ceilDiv(BigInt(tasks) * taskCredits * replication, PPM),
    }
  }

  return {
    parse(spec) {
      const parsed = JobSpecSchema.safeParse(spec)
      if (parsed.success) return parsed.data
      const issue = parsed.error.issues[0]
      return fail(`${issue?.path.join('.') || 'spec'}: ${issue?.message ?? 'invalid job'}`)
    },
    plan: (spec, swarm) => {
      if (spec.kernel === 'matmul') return planMatmul(spec, swarm)
      if (spec.kernel === 'custom') return planCustom(spec)
      return planInference(spec)
    },
    canaryRate,
  }
}
