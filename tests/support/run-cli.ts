import { execFile } from 'node:child_process'
import { CLI } from './tabswarm-process.ts'

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

export interface RunNodeOptions {
  /** Added to this process's environment. */
  env?: Record<string, string>
  /** Killed after this long. @default 120 s */
  timeoutMs?: number
  /** @default this process's working directory */
  cwd?: string
}

/**
 * Runs `script` on the Node running the tests (the project's Node 24) as a child process,
 * and resolves with its exit code and output; never throws for a non-zero exit.
 */
export function runNode(
  script: string,
  args: string[],
  options: RunNodeOptions = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [script, ...args],
      {
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 16 * 1024 * 1024,
        ...(options.cwd != null ? { cwd: options.cwd } : {}),
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err)
        resolve({ code: err ? (err.code as number) : 0, stdout, stderr })
      },
    )
  })
}

/** Runs the `tabswarm` CLI as a child process; never throws for a non-zero exit. */
export function runCli(args: string[], options: RunNodeOptions = {}): Promise<CliResult> {
  return runNode(CLI, args, options)
}
