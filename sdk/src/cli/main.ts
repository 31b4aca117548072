import { RelayRefusalError, TabswarmError } from '@tabswarm/protocol'
import { ApiRequestError, JobAbortedError, RelayUnreachableError } from '../client/client-errors.ts'
import { apiKeyCommand, apiKeyHelp } from './commands/api-key.ts'
import { cancelCommand, cancelHelp } from './commands/cancel.ts'
import { claimCommand, claimHelp } from './commands/claim.ts'
import { creditsCommand, creditsHelp } from './commands/credits.ts'
import { epochCommand, epochHelp } from './commands/epoch.ts'
import { generateCommand, generateHelp } from './commands/generate.ts'
import { jobCommand, jobHelp } from './commands/job.ts'
import { jobsCommand, jobsHelp } from './commands/jobs.ts'
import { matmulCommand, matmulHelp } from './commands/matmul.ts'
import { runCommand, runHelp } from './commands/run.ts'
import { startCommand, startHelp } from './commands/start.ts'
import { workerCommand, workerHelp } from './commands/worker.ts'
import { ExitCode } from './exit-codes.ts'
import { describeAbortedJob } from './job-summary.ts'
import { UsageError } from './usage-error.ts'

const help = `Usage: tabswarm <command> [options]

Commands:
  start                         run the relay/coordinator and serve the contributor page
  matmul <a.npy> <b.npy> -o c   multiply two float32 matrices on the swarm
  run <spec.json>               map a custom WGSL kernel over .npy inputs
  generate <model dir> <prompt> generate text from a Hugging Face model directory, streamed
  jobs                          list your jobs
  job <id>                      show (or --watch) one job
  cancel <id>                   cancel a job; unspent credits are refunded
  worker                        contribute this machine's GPU without a browser (dawn)
  credits <address>             show the credits of a wallet or account, and its tokens
  claim <address>               claim a wallet's tokens on chain (the relay pays the gas, or your key)
  epoch                         close a settlement epoch now and post its root (operators)
  api-key <account>             issue a researcher API key (operators, on the relay's machine)

Run 'tabswarm <command> --help' for a command's options. Every command that prints takes
--json for scripts.

Exit codes:
  0    success
  1    the job failed or was cancelled, or an unexpected error
  2    bad usage or bad input (missing file, malformed .npy, shapes that do not align,
       a model directory Tabswarm cannot run)
  3    the relay could not be reached
  4    the relay refused this worker for good (banned, or it cannot read this worker's
       hello or work protocol version); the message says why and what to update
  130  interrupted`

const commands: Record<
  string,
  { run: (args: string[], signal: AbortSignal) => Promise<number>; help: string }
> = {
  start: { run: startCommand, help: startHelp },
  matmul: { run: matmulCommand, help: matmulHelp },
  run: { run: runCommand, help: runHelp },
  generate: { run: generateCommand, help: generateHelp },
  jobs: { run: jobsCommand, help: jobsHelp },
  job: { run: jobCommand, help: jobHelp },
  cancel: { run: cancelCommand, help: cancelHelp },
  credits: { run: creditsCommand, help: creditsHelp },
  claim: { run: claimCommand, help: claimHelp },
  epoch: { run: epochCommand, help: epochHelp },
  worker: { run: workerCommand, help: workerHelp },
  'api-key': { run: (args) => apiKeyCommand(args), help: apiKeyHelp },
}

function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return ExitCode.BAD_INPUT
  if (err instanceof RelayUnreachableError) return ExitCode.RELAY_UNREACHABLE
  if (err instanceof RelayRefusalError && err.permanent) return ExitCode.REFUSED
  const code = (err as { code?: string })?.code
  // parseArgs reports unknown flags and missing values with these codes.
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return ExitCode.BAD_INPUT
  if (
    err instanceof TabswarmError &&
    (code === 'INVALID_INPUT' || code === 'INVALID_JOB' || code === 'INVALID_MODEL')
  )
    return ExitCode.BAD_INPUT
  // The relay refused what was sent (a malformed id, a job too large): the input is bad.
  if (err instanceof ApiRequestError && [400, 413, 422].includes(err.status))
    return ExitCode.BAD_INPUT
  return ExitCode.FAILURE
}

/** The names the relay's validation paths (`path.id: …`) stand for on the command line. */
const ARGUMENT_NAMES: Record<string, string> = { id: 'job id', address: 'address' }

/**
 * An error's message for the one line on stderr. The relay names a refused field by where it
 * was in the request (`path.address: expected …`, from zod); a command-line user knows it as
 * the argument, so that is what the line says.
 */
function messageOf(err: unknown): string {
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!
  if (err instanceof RelayUnreachableError)
    return `${message}: is it running? Start one with 'tabswarm start', or point --relay (or TABSWARM_RELAY) at yours`
  if (!(err instanceof ApiRequestError)) return message
  return message.replace(
    /^(?:path|query)\.([A-Za-z]+): /,
    (_, field: string) => `${ARGUMENT_NAMES[field] ?? field}: `,
  )
}

/** `timed out` for an AbortSignal.timeout's reason, else the reason's message. */
function abortReason(reason: unknown): string {
  if ((reason as { name?: unknown })?.name === 'TimeoutError') return 'timed out (--timeout)'
  return reason instanceof Error ? reason.message : String(reason)
}

/**
 * Runs the CLI and returns its exit code; errors become one line on stderr.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2))
 */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name == null || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(`${help}\n`)
    return name == null ? ExitCode.BAD_INPUT : ExitCode.OK
  }
  const command = commands[name]
  if (command == null) {
    process.stderr.write(`tabswarm: unknown command '${name}'. Run 'tabswarm --help'.\n`)
    return ExitCode.BAD_INPUT
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    process.stdout.write(`${command.help}\n`)
    return ExitCode.OK
  }
  // Ctrl-C and SIGTERM abort the command's signal; what that means is the command's to say
  // (start stops the relay cleanly, worker drains, matmul and run cancel the job they
  // submitted; the others just stop waiting for the relay).
  const controller = new AbortController()
  let signals = 0
  // Held (not `once`) for the whole command: with no listener left, Node restores the
  // default action and a second Ctrl-C could kill the process before a command that
  // handles it (the worker's hand-back) has registered its own listener. A second signal
  // that no command listens for exits at once, as users expect of a second Ctrl-C.
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals === 1) return controller.abort(new Error('interrupted'))
    if (process.listenerCount(signal) === 1) {
      process.stderr.write('tabswarm: interrupted\n')
      process.exit(ExitCode.INTERRUPTED)
    }
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    return await command.run(rest, controller.signal)
  } catch (err) {
    // A job the command submitted, cancelled because of Ctrl-C or its --timeout: say what
    // was refunded (or that it had ended first).
    if (err instanceof JobAbortedError) {
      const interrupted = controller.signal.aborted
      const why = interrupted ? 'interrupted' : `error: ${abortReason(err.cause)}`
      process.stderr.write(`tabswarm: ${why}; ${describeAbortedJob(err)}\n`)
      return interrupted ? ExitCode.INTERRUPTED : ExitCode.FAILURE
    }
    if (controller.signal.aborted) {
      process.stderr.write('tabswarm: interrupted\n')
      return ExitCode.INTERRUPTED
    }
    process.stderr.write(`tabswarm: error: ${messageOf(err)}\n`)
    if (process.env.TABSWARM_DEBUG) console.error(err)
    return exitCodeOf(err)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
