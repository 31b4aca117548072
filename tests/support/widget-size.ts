import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'vite'

/** The repository's Vite config: the contributor page and the widget. */
const VITE_CONFIG = fileURLToPath(new URL('../../vite.config.ts', import.meta.url))

/** What a visitor's browser downloads for the widget, in gzipped bytes (level 9). */
export interface WidgetSize {
  /** `widget.js` and whatever it imports statically: what every page view costs. */
  loaderGzip: number
  /** The files the loader needs at once (it should be `widget.js` alone). */
  loaderFiles: string[]
  /**
   * What Start loads: `assets/widget-run.js`, its static imports (libp2p, viem, the SDK) and
   * the kernel worker. Chunks it imports only on demand (viem's CCIP-read) are left out.
   */
  lazyGzip: number
  lazyFiles: string[]
}

const gzipLength = (bytes: Buffer) => gzipSync(bytes, { level: 9 }).length

/** Static imports of a built ES module: `import … from "./x.js"` and `import "./x.js"`. */
function staticImports(code: string): string[] {
  const found = new Set<string>()
  for (const match of code.matchAll(
    /(?:^|[;\s}])import\s*(?:[^'"`()]*?from\s*)?["'`](\.[^"'`]+)["'`]/g,
  ))
    found.add(match[1]!)
  return [...found]
}

/** `entry` and its static import closure, as paths relative to `dist`. */
async function closure(dist: string, entry: string): Promise<string[]> {
  const seen = new Set<string>()
  const visit = async (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const code = await readFile(join(dist, file), 'utf8')
    const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : ''
    for (const spec of staticImports(code))
      await visit(new URL(spec, `file:///${dir}`).pathname.slice(1))
  }
  await visit(entry)
  return [...seen]
}

/** Measures the widget in a built `web/dist` (or a copy of it). */
export async function measureWidget(dist: string): Promise<WidgetSize> {
  const sum = async (files: string[]) =>
    (await Promise.all(files.map(async (f) => gzipLength(await readFile(join(dist, f)))))).reduce(
      (a, b) => a + b,
      0,
    )
  const loaderFiles = await closure(dist, 'widget.js')
  const lazy = await closure(dist, 'assets/widget-run.js')
  // The kernel worker is referenced by URL (`new URL("kernel-worker-….js", import.meta.url)`).
  const worker = new Set<string>()
  for (const file of lazy) {
    const code = await readFile(join(dist, file), 'utf8')
    for (const match of code.matchAll(/["'`](kernel-worker-[\w-]+\.js)["'`]/g))
      worker.add(`assets/${match[1]}`)
  }
  const lazyFiles = [...lazy, ...worker]
  return {
    loaderGzip: await sum(loaderFiles),
    loaderFiles,
    lazyGzip: await sum(lazyFiles),
    lazyFiles,
  }
}

/**
 * Builds the page and the widget with the repository's config into a temporary folder (so
 * `web/dist`, which a relay may be serving, is untouched) and measures the widget there.
 */
export async function buildAndMeasureWidget(): Promise<WidgetSize> {
  const outDir = await mkdtemp(join(tmpdir(), 'tabswarm-widget-size-'))
  try {
    await build({
      configFile: VITE_CONFIG,
      logLevel: 'silent',
      build: { outDir, emptyOutDir: true, sourcemap: false },
    })
    return await measureWidget(outDir)
  } finally {
    await rm(outDir, { recursive: true, force: true })
  }
}
