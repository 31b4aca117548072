/** How a reconnecting tab spaces its attempts. */
export interface BackoffOptions {
  /** Delay scale of the first retry. @default 500 */
  baseMs?: number
  /** Ceiling of any delay. @default 30_000 */
  maxMs?: number
  /** Source of randomness in [0, 1); injected by tests. @default Math.random */
  random?: () => number
}

/**
 * Delay before retry number `attempt` (0 for the first): exponential, capped, with "full
 * jitter" (uniform in [0, cap]). When a relay restarts, thousands of tabs notice within
 * the same second; jitter spreads their reconnects instead of stampeding the new process.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 500
  const max = options.maxMs ?? 30_000
  const random = options.random ?? Math.random
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30))
  // Never below a tenth of the ceiling, so a tight loop cannot happen by chance.
  return Math.round(ceiling * (0.1 + 0.9 * random()))
}
