import { parseArgs } from 'node:util'
import { clientFlags, clientFlagsHelp, clientFromFlags } from '../cli-client.ts'
import { ExitCode } from '../exit-codes.ts'
import { describeJob } from '../job-summary.ts'
import { createProgressBar } from '../progress-bar.ts'
import { UsageError } from '../usage-error.ts'

export const jobHelp = `Usage: tabswarm job <id> [options]

Shows one job's state.

Options:
  --watch              follow the job until it ends, with a progress bar
${clientFlagsHelp}
  --json               print the job as JSON; with --watch, one line per state
                       change, the final state last
  -h, --help           show this help

Exit codes: 0 when the job is running or completed, 1 when it failed or was cancelled.`

/** `tabswarm job <id> [--watch]`: prints (or follows) one job; exit 1 when it failed or was cancelled. */
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
  const handle = clientFromFlags(values).job(positionals[0]!)
  let job = await handle.status({ signal })
  if (values.watch && job.status === 'running') {
    const bar = createProgressBar(process.stderr, 'tasks', {
      enabled: process.stderr.isTTY && !values.json,
    })
    // The stream starts with the job's state as it is now, so the first line is that.
    for await (const state of handle.progress({ signal })) {
      job = state
      if (values.json && state.status === 'running')
        process.stdout.write(`${JSON.stringify(state)}\n`)
      bar.update(state.tasks.accepted, state.tasks.total)
    }
    bar.done()
  }
  process.stdout.write(values.json ? `${JSON.stringify(job)}\n` : `${describeJob(job)}\n`)
  return job.status === 'failed' || job.status === 'cancelled' ? ExitCode.FAILURE : ExitCode.OK
}
