import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build, preview } from 'vite'

/** A built page served over HTTP on loopback. */
export type ServedPage = {
  /** Base URL, ending in `/`. */
  url: string
  /** Stop the server and delete the build. */
  close(): Promise<void>
}

/** Options of `serveBuiltPage`. */
export type ServePageOptions = {
  /**
   * Abandon the build after this long.
   * @default 120_000
   */
  timeoutMs?: number
  signal?: AbortSignal
}

/**
 * Build a Vite app (the config's `root`) into a temporary folder and serve it with
 * `vite preview` on 127.0.0.1 at a free port. The build is the same one a browser
 * would be given in production: workers bundled, no dev server, no on-the-fly
 * dependency optimisation that could reload the page mid-test.
 *
 * @example
 * const page = await serveBuiltPage('tests/browser/vite.config.ts')
 * await tab.goto(`${page.url}kernels.html`)
 */
export async function serveBuiltPage(
  configFile: string,
  options: ServePageOptions = {},
): Promise<ServedPage> {
  const signal = AbortSignal.any([
    AbortSignal.timeout(options.timeoutMs ?? 120_000),
    ...(options.signal ? [options.signal] : []),
  ])
  const outDir = await mkdtemp(join(tmpdir(), 'tabswarm-page-'))
  try {
    await abortable(
      build({ configFile, logLevel: 'warn', build: { outDir, emptyOutDir: true } }),
      signal,
      `building ${configFile}`,
    )
    const server = await preview({
      configFile,
      logLevel: 'warn',
      build: { outDir },
      preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false },
    })
    const address = server.httpServer.address() as AddressInfo
    return {
      url: `http://127.0.0.1:${address.port}/`,
      async close() {
        await server.close()
        await rm(outDir, { recursive: true, force: true })
      },
    }
  } catch (err) {
    await rm(outDir, { recursive: true, force: true })
    throw err
  }
}

function abortable<T>(work: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error(`Aborted before ${what}.`))
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error(`Gave up ${what}: ${String(signal.reason)}`))
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
