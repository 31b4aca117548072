import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const CLI = fileURLToPath(new URL('../../sdk/bin/tabswarm.js', import.meta.url))

export interface TabswarmProcess {
  url: string
  multiaddrs: string[]
  dataDir: string
  process: ChildProcess
  logs: () => string
  stop(): Promise<void>
}

/**
 * Runs `tabswarm start` as a real child process on free ports, exactly as a user would,
 * and waits for its start-up line.
 */
export async function startTabswarmProcess(
  options: {
    env?: Record<string, string>
    timeoutMs?: number
    /** An existing data directory (kept at stop); by default a fresh one, removed at stop. */
    dataDir?: string
    /** Sees the log (stderr) as it comes, from the start on: before the start-up line too. */
    onStderr?: (chunk: string) => void
  } = {},
): Promise<TabswarmProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'tabswarm-test-')))
  const child = spawn(
    process.execPath,
    [CLI, 'start', '--port', '0', '--p2p-port', '0', '--data-dir', dataDir, '--json'],
    // Settlement off unless a test asks for it: an embedded chain per relay is a cost these
    // tests do not need (settlement tests pass TABSWARM_SETTLEMENT / TABSWARM_CHAIN_PORT=0).
    {
      env: { TABSWARM_SETTLEMENT: 'off', ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
    options.onStderr?.(chunk.toString())
  })
  const started = await new Promise<{ url: string; multiaddrs: string[] }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`tabswarm start timed out:\n${stderr}`)),
      options.timeoutMs ?? 30_000,
    )
    child.once('exit', (code) =>
      reject(new Error(`tabswarm start exited with ${code}:\n${stderr}`)),
    )
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer)
      resolve(JSON.parse(line))
    })
  })
  return {
    ...started,
    dataDir,
    process: child,
    logs: () => stderr,
    async stop() {
      // Killed by a signal (a test's SIGKILL), it has exited already: no exit code, a signal.
      if (child.exitCode == null && child.signalCode == null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timer)
      }
      if (options.dataDir == null) await rm(dataDir, { recursive: true, force: true })
    },
  }
}
