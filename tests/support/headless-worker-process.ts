import { type ChildProcess, spawn } from 'node:child_process'
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

/** Runs `tabswarm worker --json` as a child process, exactly as a contributor would. */
export function startWorkerProcess(relayUrl: string, extraArgs: string[] = []): WorkerProcess {
  const child = spawn(
    process.execPath,
    [CLI, 'worker', '--relay', relayUrl, '--json', ...extraArgs],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
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
