import { execFile } from 'node:child_process'
import { CLI } from './tabswarm-process.ts'

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs the `tabswarm` CLI as a child process; never throws for a non-zero exit. */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err)
        resolve({ code: err ? (err.code as number) : 0, stdout, stderr })
      },
    )
  })
}
