import { MAX_BUDGET } from '@tabswarm/protocol'
import type { NpyCast } from './npy-float64.ts'
import { UsageError } from './usage-error.ts'

/**
 * Values of the flags several commands share, checked the same way everywhere: each bad
 * value is a `UsageError` naming the flag and what was typed.
 */

/** A positive integer: `--max-tasks 10`. */
export function positiveInteger(flag: string, text: string): number {
  const value = Number(text)
  if (text.trim() === '' || !Number.isSafeInteger(value) || value < 1)
    throw new UsageError(`${flag} must be a positive integer, got "${text}"`)
  return value
}

/** `--timeout <sec>` in milliseconds, or `fallbackSeconds` when the flag is absent. */
export function timeoutMsFlag(text: string | undefined, fallbackSeconds: number): number {
  if (text == null) return fallbackSeconds * 1000
  const seconds = Number(text)
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds <= 0)
    throw new UsageError(`--timeout must be a positive number of seconds, got "${text}"`)
  return seconds * 1000
}

/**
 * `--budget <credits>`: a whole number of credits, or undefined when the flag is absent.
 * Credits are exact integers: a budget past 2^53 stays the decimal string it was written
 * as (the job spec takes either), never rounded through a float.
 */
export function budgetFlag(text: string | undefined): number | string | undefined {
  if (text == null) return undefined
  const digits = text.trim()
  if (!/^[0-9]{1,19}$/.test(digits) || BigInt(digits) > MAX_BUDGET)
    throw new UsageError(
      `--budget must be a whole, non-negative number of credits (at most ${MAX_BUDGET}), got "${text}"`,
    )
  const credits = BigInt(digits)
  return credits <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(credits) : credits.toString()
}

/** Help lines for `--budget` and `--timeout`, aligned with the other options. */
export function jobFlagsHelp(defaultTimeoutSeconds: number): string {
  return `  --budget <credits>   most credits the job may spend (default: its quote)
  --timeout <sec>      give up (and cancel the job) after this long (default ${defaultTimeoutSeconds})`
}

/** `--cast float32`: read float64 `.npy` inputs as float32; undefined when absent. */
export function castFlag(text: string | undefined): NpyCast | undefined {
  if (text == null) return undefined
  if (text !== 'float32')
    throw new UsageError(`--cast takes float32 (float64 inputs read as float32), got "${text}"`)
  return text
}

/** Help line for `--cast`, aligned with the other options. */
export const castFlagHelp = `  --cast float32       read float64 .npy inputs as float32 (about 7 significant digits)`
