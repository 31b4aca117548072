import { parseArgs } from 'node:util'
import { ApiRequestError } from '../../client/client-errors.ts'
import { clientFlags, clientFlagsHelp, clientFromFlags } from '../cli-client.ts'
import { ExitCode } from '../exit-codes.ts'
import { resolveJobId } from '../job-id-argument.ts'
import { describeJob } from '../job-summary.ts'
import { UsageError } from '../usage-error.ts'

export const cancelHelp = `Usage: tabswarm cancel <id> [options]

Cancels a running job: its tasks stop, and the credits it did not spend are refunded.
<id> may be the start of an id, as long as it names one of your jobs.

Options:
${clientFlagsHelp}
  --json               print the cancelled job as JSON
  -h, --help           show this help

Exit codes: 0 when the job was cancelled, 1 when it had already ended (nothing to cancel),
2 when <id> names no job of yours, or several.`

/** `tabswarm cancel <id>`: cancels a job (unspent credits are refunded); resolves with the exit code. */
export async function cancelCommand(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...clientFlags, json: { type: 'boolean', default: false } },
  })
  if (positionals.length !== 1)
    throw new UsageError('cancel takes one job id: tabswarm cancel <id>')
  const client = clientFromFlags(values)
  const id = await resolveJobId(client, positionals[0]!, signal)
  let job: Awaited<ReturnType<typeof client.cancel>>
  let ended = false
  try {
    job = await client.cancel(id, { signal })
    // A relay older than JOB_FINISHED answers an ended job with its state, unchanged.
    ended = job.status !== 'cancelled'
  } catch (err) {
    // 409 JOB_FINISHED: the job had ended (completed, failed, or cancelled before).
    if (!(err instanceof ApiRequestError && err.code === 'JOB_FINISHED')) throw err
    job = await client.getJob(id, { signal })
    ended = true
  }
  if (ended) {
    if (values.json) process.stdout.write(`${JSON.stringify(job)}\n`)
    process.stderr.write(`tabswarm: job ${job.id} already ${job.status}; nothing to cancel\n`)
    return ExitCode.FAILURE
  }
  process.stdout.write(values.json ? `${JSON.stringify(job)}\n` : `${describeJob(job)}\n`)
  return ExitCode.OK
}
