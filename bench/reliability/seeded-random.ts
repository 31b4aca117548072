/**
 * A small seeded generator (mulberry32) for the reliability suites: the same seed gives the
 * same choices on any machine, so a failing run or fuzz case is replayed from the seed
 * printed beside it.
 */
export interface SeededRandom {
  readonly seed: number
  /** A float in [0, 1). */
  next(): number
  /** An integer in [0, n). */
  int(n: number): number
  /** True with probability `p`. */
  chance(p: number): boolean
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T
  /** `n` random bytes. */
  bytes(n: number): Uint8Array
  /** A generator of its own, seeded from this one: for one case's sub-choices. */
  fork(): SeededRandom
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
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
  const int = (n: number) => Math.floor(next() * n)
  return {
    seed: seed >>> 0,
    next,
    int,
    chance: (p) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error('pick from an empty list')
      return items[int(items.length)] as T
    },
    bytes(n) {
      const out = new Uint8Array(n)
      for (let i = 0; i < n; i++) out[i] = int(256)
      return out
    },
    fork: () => createSeededRandom(int(4_294_967_296)),
  }
}
