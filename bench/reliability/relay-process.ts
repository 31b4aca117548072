import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { CLI } from '../../tests/support/tabswarm-process.ts'

/** A `tabswarm start` child on fixed ports and a kept data directory, killed and restarted at will. */
export interface RelayProcess {
  url: string
  multiaddrs: string[]
  /** Milliseconds from spawn to the start-up line, the last start (recovery included). */
  startMs: number
  /** SIGKILL: no shutdown, no flush beyond what was committed. */
  kill(): Promise<void>
  /** Starts it again on the same ports and data directory (same key: same peer id). */
  restart(): Promise<void>
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>
  stderr(): string
}

/**
 * Runs the relay exactly as an operator does (`tabswarm start`), on `httpPort` and
 * `p2pPort`, so that a restart comes back where contributors look for it.
 */
export async function startRelayProcess(options: {
  dataDir: string
  httpPort: number
  p2pPort: number
  env?: Record<string, string>
  timeoutMs?: number
}): Promise<RelayProcess> {
  let child: ChildProcess | undefined
  let stderr = ''
  const spawnOnce = async () => {
    const began = performance.now()
    const proc = spawn(
      process.execPath,
      [
        CLI,
        'start',
        '--port',
        String(options.httpPort),
        '--p2p-port',
        String(options.p2pPort),
        '--data-dir',
        options.dataDir,
        '--json',
      ],
      { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    child = proc
    proc.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-20_000)
    })
    const started = await new Promise<{ url: string; multiaddrs: string[] }>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL')
        reject(new Error(`tabswarm start timed out:\n${stderr}`))
      }, options.timeoutMs ?? 60_000)
      proc.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`tabswarm start exited with ${code}:\n${stderr}`))
      })
      createInterface({ input: proc.stdout! }).once('line', (line) => {
        clearTimeout(timer)
        resolve(JSON.parse(line))
      })
    })
    relay.url = started.url
    relay.multiaddrs = started.multiaddrs
    relay.startMs = performance.now() - began
  }
  const exitOf = (proc: ChildProcess) =>
    proc.exitCode != null || proc.signalCode != null
      ? Promise.resolve()
      : new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  const relay: RelayProcess = {
    url: '',
    multiaddrs: [],
    startMs: 0,
    async kill() {
      const proc = child
      if (proc == null) return
      const exited = exitOf(proc)
      proc.kill('SIGKILL')
      await exited
    },
    restart: spawnOnce,
    async stop() {
      const proc = child
      if (proc == null) return
      const exited = exitOf(proc)
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
    stderr: () => stderr,
  }
  await spawnOnce()
  return relay
}
