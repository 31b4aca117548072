import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/**
 * Which of our packages may import which, read from the `@tabswarm/*` imports of every
 * source file (tests included). The contract lives in `@tabswarm/protocol`, a leaf; each
 * package imports only packages below it, so the graph has no cycle.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

type Package = 'protocol' | 'worker-kernels' | 'relay' | 'sdk' | 'web'

/** The packages each package may import. */
const ALLOWED: Record<Package, readonly Package[]> = {
  protocol: [],
  'worker-kernels': ['protocol'],
  // The relay verifies results with the kernels' CPU references (Freivalds, tile checks).
  relay: ['protocol', 'worker-kernels'],
  sdk: ['protocol', 'worker-kernels', 'relay'],
  web: ['protocol', 'worker-kernels', 'sdk'],
}

/**
 * The SDK's files that may import the relay: the CLI commands that run one (`tabswarm
 * start`) or edit its API keys (`tabswarm api-key`). The client, the contributor loop and
 * the headless worker never do.
 */
const SDK_FILES_USING_RELAY = ['sdk/src/cli/commands/start.ts', 'sdk/src/cli/commands/api-key.ts']

const DIRECTION = [
  'Allowed direction of imports between our packages (A ← B: B imports A):',
  '  protocol ← worker-kernels ← sdk ← web',
  '  protocol ← relay, worker-kernels ← relay',
  `  sdk → relay only in ${SDK_FILES_USING_RELAY.join(', ')} (the CLI's tabswarm start and api-key)`,
  '  protocol imports no other package of ours; the SDK client imports protocol only.',
].join('\n')

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]@tabswarm\/([a-z-]+)/g

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path)
    return /\.(ts|tsx|js|mjs)$/.test(entry.name) ? [path] : []
  })
}

/** Every import of another of our packages: `from` imports `to` in `file`. */
function packageImports(): Array<{ from: Package; to: string; file: string }> {
  return (Object.keys(ALLOWED) as Package[]).flatMap((from) =>
    sourceFiles(join(ROOT, from, 'src')).flatMap((path) => {
      const file = relative(ROOT, path).replaceAll('\\', '/')
      return [...readFileSync(path, 'utf8').matchAll(IMPORT)]
        .map((match) => match[1]!)
        .filter((to) => to !== from)
        .map((to) => ({ from, to, file }))
    }),
  )
}

/** A cycle in the graph of `edges`, as the packages along it, or undefined. */
function findCycle(edges: ReadonlyMap<string, ReadonlySet<string>>): string[] | undefined {
  const done = new Set<string>()
  const path: string[] = []
  const visit = (node: string): string[] | undefined => {
    const at = path.indexOf(node)
    if (at >= 0) return [...path.slice(at), node]
    if (done.has(node)) return undefined
    path.push(node)
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next)
      if (cycle) return cycle
    }
    path.pop()
    done.add(node)
    return undefined
  }
  for (const node of edges.keys()) {
    const cycle = visit(node)
    if (cycle) return cycle
  }
  return undefined
}

describe('dependency direction between @tabswarm packages', () => {
  const imports = packageImports()

  it('finds the imports it checks', () => {
    expect(imports.some((i) => i.from === 'sdk' && i.to === 'protocol')).toBe(true)
  })

  it('has protocol import no other package of ours', () => {
    const offending = imports
      .filter((i) => i.from === 'protocol')
      .map((i) => `${i.file} → @tabswarm/${i.to}`)
    expect(offending, DIRECTION).toEqual([])
  })

  it('has the SDK client (Node and browsers) import only @tabswarm/protocol', () => {
    const offending = imports
      .filter((i) => i.file.startsWith('sdk/src/client/') && i.to !== 'protocol')
      .map((i) => `${i.file} → @tabswarm/${i.to}`)
    expect(offending, 'the client reaches relays over HTTP only; its types are protocol’s').toEqual(
      [],
    )
  })

  it('has each package import only the packages below it', () => {
    const offending = imports
      .filter(
        (i) =>
          !(ALLOWED[i.from] as readonly string[]).includes(i.to) ||
          (i.from === 'sdk' && i.to === 'relay' && !SDK_FILES_USING_RELAY.includes(i.file)),
      )
      .map((i) => `${i.file} → @tabswarm/${i.to}`)
    expect(offending, DIRECTION).toEqual([])
  })

  it('has no cycle', () => {
    const edges = new Map<string, Set<string>>()
    for (const { from, to } of imports) edges.set(from, (edges.get(from) ?? new Set()).add(to))
    expect(findCycle(edges), DIRECTION).toBeUndefined()
  })
})
