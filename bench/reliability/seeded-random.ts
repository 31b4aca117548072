/**
 * A small seeded generator (mulberry32) for fuzz cases: the same seed gives the same cases
 * on any machine, so a failing case is reproduced from the seed printed beside it.
 */
export interface SeededRandom {
  readonly seed: number
  /** A float in [0, 1). */
  next(): number
  /** An integer in [0, n). */
  int(n: number): number
  /** True with probability `p`. */
  chance(p: number): boolean
  pick<T>(items: readonly T[]): T
  bytes(n: number): Uint8Array
  /** A generator of its own, seeded from this one: for one case's sub-choices. */
  fork(): SeededRandom
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

/**
 * JSON values at the edges: what a hostile client puts where a number, string or object
 * is expected. `NaN` and `Infinity` cannot be written in JSON; their text forms go in the
 * raw-JSON cases instead (see `rawJsonEdges`).
 */
export const EDGE_VALUES: readonly unknown[] = [
  0,
  -0,
  -1,
  0.5,
  1e-320,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER,
  '',
  '0',
  'NaN',
  '-0',
  'x'.repeat(70_000),
  '\u0000',
  '\ud800',
  true,
  false,
  null,
  [],
  [1, 2, 3],
  {},
  { __proto__: { polluted: true } },
  { constructor: { prototype: { polluted: true } } },
  [[[[[[[[[[]]]]]]]]]],
  Array.from({ length: 9 }, () => 1 << 24),
  Array.from({ length: 3 }, () => 2 ** 26),
]

/** JSON texts a serialiser never writes but a parser may be handed. */
export const RAW_JSON_EDGES: readonly string[] = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e999',
  '-1e999',
  '9007199254740993',
  '00',
  '-',
  '1.',
  '"\\ud800"',
  '{"a":1,"a":2}',
  '{"__proto__":{"polluted":true}}',
]

/** `depth` nested arrays (or objects), for deep-nesting cases. */
export function deeplyNested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
}
