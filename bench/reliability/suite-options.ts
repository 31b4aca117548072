import type { BenchRow } from '../bench-types.ts'

/** What each reliability suite takes: the bench area runs them long, CI short. */
export interface ReliabilitySuiteOptions {
  log: (line: string) => void
  /** The bench's long run (bigger jobs, more contributors, more faults); short for CI. */
  long: boolean
  signal?: AbortSignal
}

export type ReliabilitySuite = (options: ReliabilitySuiteOptions) => Promise<BenchRow[]>

/** The caller's signal, if any, bounded by `timeoutMs`. */
export function boundedSignal(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs)
  return signal == null ? timeout : AbortSignal.any([signal, timeout])
}
