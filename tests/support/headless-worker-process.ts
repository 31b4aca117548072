import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { CLI } from './tabswarm-process.ts'

export type WorkerEvent = Record<string, unknown> & { type?: unknown }

export interface WorkerProcess {
  process: ChildProcess
  /** Parsed JSON lines the worker printed (`--json`): its events, then its summary. */
  events: WorkerEvent[]
  /** What it wrote to stderr so far, for failure messages. */
  stderr(): string
  /** Resolves with the exit code once the process has exited and its output is read. */
  exited: Promise<number | null>
  /**
   * Resolves with the first event (already seen or to come) that matches, or rejects after
   * `timeoutMs`. `index` is the event's place in `events`: `index >= mark` matches only
   * events that came after `events.length` was `mark`.
   */
  waitFor(
    match: (event: WorkerEvent, index: number) => boolean,
    timeoutMs?: number,
  ): Promise<WorkerEvent>
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
  const events: WorkerEvent[] = []
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      events.push(JSON.parse(line))
    } catch {
      events.push({ type: 'unparsed', line })
    }
    for (const wake of waiters) wake()
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  // 'close', not 'exit': by then stdout is drained, so the summary line is in `events`.
  let closed = false
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      closed = true
      resolve(code)
      for (const wake of waiters) wake()
    }),
  )
  return {
    process: child,
    events,
    stderr: () => stderr,
    exited,
    waitFor(match, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match)
          if (found) return done(() => resolve(found))
          if (closed)
            done(() => reject(new Error(`worker exited with ${child.exitCode}:\n${stderr}`)))
        }
        const timer = setTimeout(
          () =>
            done(() => reject(new Error(`no such worker event in ${timeoutMs} ms:\n${stderr}`))),
          timeoutMs,
        )
        const done = (settle: () => void) => {
          clearTimeout(timer)
          waiters.delete(check)
          settle()
        }
        waiters.add(check)
        check()
      })
    },
    async interrupt(timeoutMs = 30_000) {
      if (child.exitCode == null) child.kill('SIGINT')
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
}
