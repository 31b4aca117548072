import type { SamplingSpec, VerificationPolicy } from '@tabswarm/protocol'
import { MAX_NEW_TOKENS, MAX_STAGES, MAX_TOP_LOGITS } from '@tabswarm/protocol'
import { positiveInteger } from './flags.ts'
import { UsageError } from './usage-error.ts'

/** The sampling flags of `tabswarm generate`, as typed. */
export interface SamplingFlags {
  temperature?: string | undefined
  'top-k'?: string | undefined
  'top-p'?: string | undefined
  seed?: string | undefined
}

/**
 * The sampling a command line asks for: greedy when no sampling flag is given; otherwise
 * top-k / top-p at a temperature, from `--seed` or a fresh random seed (`randomSeed`), which
 * the command prints so the generation can be replayed.
 *
 * @throws {UsageError} naming the flag and what was typed.
 */
export function samplingFromFlags(
  flags: SamplingFlags,
  randomSeed: () => number = () => crypto.getRandomValues(new Uint32Array(1))[0]!,
): SamplingSpec {
  const { temperature, seed } = flags
  const topK = flags['top-k']
  const topP = flags['top-p']
  if (temperature == null && topK == null && topP == null && seed == null) return { mode: 'greedy' }
  const spec: SamplingSpec = { mode: 'sample', seed: randomSeed() }
  if (seed != null) {
    const value = Number(seed)
    if (seed.trim() === '' || !Number.isInteger(value) || value < -(2 ** 31) || value > 2 ** 32 - 1)
      throw new UsageError(`--seed must be a 32-bit integer, got "${seed}"`)
    spec.seed = value
  }
  if (temperature != null) {
    const value = Number(temperature)
    if (temperature.trim() === '' || !(value > 0 && value <= 100))
      throw new UsageError(
        `--temperature must be a number above 0 and at most 100 (for greedy decoding leave the sampling flags out), got "${temperature}"`,
      )
    spec.temperature = value
  }
  if (topK != null) {
    const value = positiveInteger('--top-k', topK)
    if (value > MAX_TOP_LOGITS)
      throw new UsageError(`--top-k must be at most ${MAX_TOP_LOGITS}, got ${value}`)
    spec.topK = value
  }
  if (topP != null) {
    const value = Number(topP)
    if (topP.trim() === '' || !(value > 0 && value <= 1))
      throw new UsageError(`--top-p must be above 0 and at most 1, got "${topP}"`)
    spec.topP = value
  }
  return spec
}

/** `--max-tokens`: 1 to `MAX_NEW_TOKENS`. */
export function maxTokensFlag(text: string | undefined, fallback: number): number {
  if (text == null) return fallback
  const value = positiveInteger('--max-tokens', text)
  if (value > MAX_NEW_TOKENS)
    throw new UsageError(`--max-tokens must be at most ${MAX_NEW_TOKENS}, got ${value}`)
  return value
}

/** `--stages`: 1 to `MAX_STAGES`, or undefined (as the contributors' memory allows). */
export function stagesFlag(text: string | undefined): number | undefined {
  if (text == null) return undefined
  const value = positiveInteger('--stages', text)
  if (value > MAX_STAGES)
    throw new UsageError(`--stages must be at most ${MAX_STAGES}, got ${value}`)
  return value
}

/**
 * The verification policy `--replication` and `--spot-check` ask for, or `undefined` for the
 * relay's default (newcomers' stages replicated on distinct contributors).
 */
export function verificationFromFlags(values: {
  replication?: string | undefined
  'spot-check'?: string | undefined
}): VerificationPolicy | undefined {
  const policy: VerificationPolicy = {}
  if (values.replication != null) {
    const replication = positiveInteger('--replication', values.replication)
    if (replication > 8) throw new UsageError(`--replication must be at most 8, got ${replication}`)
    policy.replication = replication
  }
  if (values['spot-check'] != null) {
    const text = values['spot-check']
    const rate = Number(text)
    if (!/^(0|1|0?\.[0-9]+|1\.0*)$/.test(text) || !(rate >= 0 && rate <= 1))
      throw new UsageError(`--spot-check must be a fraction from 0 to 1, got ${text}`)
    policy.spotCheck = rate
  }
  return Object.keys(policy).length === 0 ? undefined : policy
}

/** The prompts of a `--batch` file: one a line, blank lines skipped. */
export function batchPrompts(text: string, file: string): string[] {
  const prompts = text
    .split(/\r?\n/)
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '')
  if (prompts.length === 0)
    throw new UsageError(`--batch ${file} holds no prompts: write one prompt a line`)
  return prompts
}
