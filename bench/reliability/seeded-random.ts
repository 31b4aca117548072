/** A seeded generator (mulberry32) with the few draws the reliability suites make. */
export interface SeededRandom {
  readonly seed: number
  /** Uniform in [0, 1). */
  next(): number
  /** An integer in [0, n). */
  int(n: number): number
  /** True with probability `p`. */
  chance(p: number): boolean
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T
}

/**
 * The suite's seed: `TABSWARM_RELIABILITY_SEED` when set (to replay a run), else a fresh
 * one. Suites print it, so any run can be repeated.
 */
export function reliabilitySeed(env: Record<string, string | undefined> = process.env): number {
  const fromEnv = env.TABSWARM_RELIABILITY_SEED
  if (fromEnv != null && fromEnv !== '') {
    const seed = Number(fromEnv)
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32)
      throw new Error(`TABSWARM_RELIABILITY_SEED must be an integer in [0, 2^32), got "${fromEnv}"`)
    return seed
  }
  return Math.floor(Math.random() * 2 ** 32)
}

export function createSeededRandom(seed: number): SeededRandom {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
  return {
    seed,
    next,
    int: (n) => Math.floor(next() * n),
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty array')
      return items[Math.floor(next() * items.length)]!
    },
  }
}
