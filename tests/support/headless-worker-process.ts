import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { CLI } from './tabswarm-process.ts'

export interface WorkerProcess {
  process: ChildProcess
  /** Parsed JSON lines the worker printed (`--json`): its events, then its summary. */
  events: Array<Record<string, unknown>>
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>
  /** Sends SIGINT (a drain) and waits for the exit; SIGKILL after `timeoutMs`. */
  interrupt(timeoutMs?: number): Promise<number | null>
}

/**
 * Runs `tabswarm worker --json` as a child process, exactly as a contributor would. Its
 * wallet key goes to `--wallet-file` when `extraArgs` names one, else to a fresh temporary
 * directory: never into the user's home.
 */
export function startWorkerProcess(relayUrl: string, extraArgs: string[] = []): WorkerProcess {
  const walletArgs = extraArgs.includes('--wallet-file')
    ? []
    : ['--wallet-file', join(mkdtempSync(join(tmpdir(), 'tabswarm-wallet-')), 'wallet.key')]
  const child = spawn(
    process.execPath,
    [CLI, 'worker', '--relay', relayUrl, '--json', ...walletArgs, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const events: Array<Record<string, unknown>> = []
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      events.push(JSON.parse(line))
    } catch {
      events.push({ type: 'unparsed', line })
    }
  })
  child.stderr!.resume()
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  return {
    process: child,
    events,
    exited,
    async interrupt(timeoutMs = 30_000) {
      if (child.exitCode == null) child.kill('SIGINT')
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
}
