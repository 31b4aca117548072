import { parseArgs } from 'node:util'
import type { JobDetail } from '@tabswarm/protocol'
import { ApiRequestError } from '../../client/client-errors.ts'
import type { JobHandle } from '../../client/job-handle.ts'
import { clientFlags, clientFlagsHelp, clientFromFlags } from '../cli-client.ts'
import { ExitCode } from '../exit-codes.ts'
import { describeJobDetail, describeJobView } from '../job-detail-view.ts'
import { resolveJobId } from '../job-id-argument.ts'
import { createJobProgress } from '../job-progress.ts'
import { UsageError } from '../usage-error.ts'

export const jobHelp = `Usage: tabswarm job <id> [options]

Shows one job in detail: status, kernel and shape, tasks by state, how results were
verified, credits escrowed, spent and refunded, timings, throughput, and what a running
job waits for. <id> may be the start of an id, as long as it names one of your jobs.

Options:
  --watch              follow the job until it ends: a progress bar that says what the job
                       waits for on a terminal, a line every 5 s elsewhere
${clientFlagsHelp}
  --json               print the job (its JobView, with "waiting") as JSON; with --watch,
                       one line per state change, the final state last
  -h, --help           show this help

Exit codes: 0 when the job is running or completed, 1 when it failed or was cancelled,
2 when <id> names no job of yours, or several.`

/** The job in detail, or undefined from a relay that predates `GET /v1/jobs/:id/detail`. */
async function detailOf(handle: JobHandle, signal: AbortSignal): Promise<JobDetail | undefined> {
  try {
    return await handle.detail({ signal })
  } catch (err) {
    if (err instanceof ApiRequestError && err.code === 'NOT_FOUND') return undefined
    throw err
  }
}

/** `tabswarm job <id> [--watch]`: shows (or follows) one job; exit 1 when it failed or was cancelled. */
export async function jobCommand(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...clientFlags,
      watch: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  })
  if (positionals.length !== 1) throw new UsageError('job takes one job id: tabswarm job <id>')
  const client = clientFromFlags(values)
  const handle = client.job(await resolveJobId(client, positionals[0]!, signal))
  let job = await handle.status({ signal })
  if (values.watch && job.status === 'running') {
    const progress = createJobProgress(process.stderr, 'tasks accepted', { quiet: values.json })
    try {
      // The stream starts with the job's state as it is now, so the first line is that.
      for await (const state of handle.progress({ signal })) {
        job = state
        if (values.json && state.status === 'running')
          process.stdout.write(`${JSON.stringify(state)}\n`)
        progress.update(state)
      }
    } finally {
      progress.done()
    }
  }
  if (values.json) process.stdout.write(`${JSON.stringify(job)}\n`)
  else {
    const detail = await detailOf(handle, signal)
    process.stdout.write(`${detail ? describeJobDetail(detail) : describeJobView(job)}\n`)
  }
  return job.status === 'failed' || job.status === 'cancelled' ? ExitCode.FAILURE : ExitCode.OK
}
