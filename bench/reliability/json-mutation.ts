import { EDGE_VALUES } from './fuzz-edge-values.ts'
import type { SeededRandom } from './seeded-random.ts'

/**
 * Mutates a valid JSON message the way a hostile peer would: one field replaced by an edge
 * value or a value of the wrong type, a field dropped, an unknown field added, or the
 * type tag changed. Returns a new value and a short description of what was changed.
 */
export function mutateJson(value: unknown, rng: SeededRandom): { value: unknown; change: string } {
  const copy = structuredClone(value)
  const paths = leafPaths(copy)
  if (paths.length === 0) return { value: rng.pick(EDGE_VALUES), change: 'whole value replaced' }
  const path = rng.pick(paths)
  const parent = path.length === 1 ? copy : at(copy, path.slice(0, -1))
  const key = path[path.length - 1] as string | number
  const where = path.join('.')
  const target = parent as Record<string | number, unknown>
  switch (rng.int(5)) {
    case 0:
    case 1: {
      const edge = rng.pick(EDGE_VALUES)
      target[key] = structuredClone(edge)
      return { value: copy, change: `${where} = ${describe(edge)}` }
    }
    case 2:
      if (Array.isArray(target)) target.splice(Number(key), 1)
      else delete target[key]
      return { value: copy, change: `${where} removed` }
    case 3: {
      const extra = `x${rng.int(1000)}`
      target[extra] = rng.pick(EDGE_VALUES)
      return { value: copy, change: `${path.slice(0, -1).join('.') || '(root)'}.${extra} added` }
    }
    default: {
      // Two edits at once: most validators stop at the first, both must be refused.
      const edge = rng.pick(EDGE_VALUES)
      target[key] = structuredClone(edge)
      const again = mutateJson(copy, rng)
      return { value: again.value, change: `${where} = ${describe(edge)}; ${again.change}` }
    }
  }
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 40 ? `${text.slice(0, 37)}... (${text.length} chars)` : text
}

function at(value: unknown, path: Array<string | number>): unknown {
  let node = value
  for (const key of path) node = (node as Record<string | number, unknown>)[key]
  return node
}

/** Every path to a value inside `value` (objects and arrays are walked, not listed themselves at the root). */
function leafPaths(
  value: unknown,
  prefix: Array<string | number> = [],
): Array<Array<string | number>> {
  if (value === null || typeof value !== 'object') return prefix.length > 0 ? [prefix] : []
  const entries = Array.isArray(value)
    ? value.map((v, i) => [i, v] as const)
    : Object.entries(value as Record<string, unknown>)
  const out: Array<Array<string | number>> = prefix.length > 0 ? [prefix] : []
  for (const [key, child] of entries) out.push(...leafPaths(child, [...prefix, key]))
  return out
}
