import { parseArgs } from 'node:util'
import { clientFlags, clientFlagsHelp, clientFromFlags } from '../cli-client.ts'
import { ExitCode } from '../exit-codes.ts'
import { describeJob } from '../job-summary.ts'
import { UsageError } from '../usage-error.ts'

export const cancelHelp = `Usage: tabswarm cancel <id> [options]

Cancels a running job: its tasks stop, and the credits it did not spend are refunded.

Options:
${clientFlagsHelp}
  --json               print the cancelled job as JSON
  -h, --help           show this help`

/** `tabswarm cancel <id>`: cancels a job (unspent credits are refunded); resolves with the exit code. */
export async function cancelCommand(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...clientFlags, json: { type: 'boolean', default: false } },
  })
  if (positionals.length !== 1)
    throw new UsageError('cancel takes one job id: tabswarm cancel <id>')
  const job = await clientFromFlags(values).cancel(positionals[0]!, { signal })
  process.stdout.write(values.json ? `${JSON.stringify(job)}\n` : `${describeJob(job)}\n`)
  return ExitCode.OK
}
