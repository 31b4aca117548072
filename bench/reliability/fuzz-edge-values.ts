/**
 * JSON values at the edges: what a hostile client puts where a number, string or object
 * is expected. `NaN` and `Infinity` cannot be written in JSON; their text forms go in the
 * raw-JSON cases instead (see `RAW_JSON_EDGES`).
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
