import { parseArgs } from 'node:util'
import { clientFlags, clientFlagsHelp, clientFromFlags } from '../cli-client.ts'
import { ExitCode } from '../exit-codes.ts'
import { describeJob } from '../job-summary.ts'
import { UsageError } from '../usage-error.ts'

export const jobsHelp = `Usage: tabswarm jobs [options]

Lists your jobs, newest first.

Options:
  --status <s>         only jobs that are running, completed, failed or cancelled
  --limit <n>          at most n jobs (default 50)
${clientFlagsHelp}
  --json               print the jobs as a JSON array
  -h, --help           show this help`

const STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const

/** `tabswarm jobs`: lists the caller's jobs, newest first; resolves with the exit code. */
export async function jobsCommand(args: string[], signal: AbortSignal): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...clientFlags,
      status: { type: 'string' },
      limit: { type: 'string', default: '50' },
      json: { type: 'boolean', default: false },
    },
  })
  const status = values.status as (typeof STATUSES)[number] | undefined
  if (status != null && !STATUSES.includes(status))
    throw new UsageError(`--status must be one of ${STATUSES.join(', ')}, got "${values.status}"`)
  const limit = Number(values.limit)
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000)
    throw new UsageError(`--limit must be an integer from 1 to 1000, got "${values.limit}"`)
  const jobs = await clientFromFlags(values).listJobs({
    signal,
    limit,
    ...(status ? { status } : {}),
  })
  if (values.json) process.stdout.write(`${JSON.stringify(jobs)}\n`)
  else if (jobs.length === 0) process.stdout.write('no jobs\n')
  else for (const job of jobs) process.stdout.write(`${describeJob(job)}\n`)
  return ExitCode.OK
}
