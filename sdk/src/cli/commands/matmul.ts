import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import type { JobView } from '@tabswarm/protocol'
import { encodeNpy } from '@tabswarm/protocol'
import { checkMatrix } from '../../client/client.ts'
import { MATMUL_TIMEOUT_MS } from '../../constants.ts'
import { clientFlags, clientFlagsHelp, clientFromFlags } from '../cli-client.ts'
import { ExitCode } from '../exit-codes.ts'
import { budgetFlag, castFlag, castFlagHelp, jobFlagsHelp, timeoutMsFlag } from '../flags.ts'
import { createJobProgress } from '../job-progress.ts'
import { describeCredits } from '../job-summary.ts'
import { readNpyFile } from '../npy-files.ts'
import { castWarning } from '../npy-float64.ts'
import { checkOutputFile } from '../output-dir.ts'
import { plural } from '../plural.ts'
import { UsageError } from '../usage-error.ts'

const DEFAULT_TIMEOUT_SECONDS = MATMUL_TIMEOUT_MS / 1000

export const matmulHelp = `Usage: tabswarm matmul <a.npy> <b.npy> -o <c.npy> [options]

Multiplies two float32 matrices on the swarm: C = A·B, split into tiles that contributor
tabs compute and the coordinator verifies. Inputs and output are numpy .npy files (C order).
While it runs, stderr says what the job waits for (no contributors online, a second
opinion, busy contributors): a progress bar on a terminal, a line every 5 s elsewhere.

Options:
  -o, --output <file>  where to write C (required)
${castFlagHelp}
${jobFlagsHelp(DEFAULT_TIMEOUT_SECONDS)}
${clientFlagsHelp}
  --json               print the result summary as JSON (and no progress)
  -h, --help           show this help

Ctrl-C cancels the job and says what was refunded.`

/** `tabswarm matmul a.npy b.npy -o c.npy`: a verified product on the swarm; resolves with the exit code. */
export async function matmulCommand(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...clientFlags,
      output: { type: 'string', short: 'o' },
      budget: { type: 'string' },
      timeout: { type: 'string' },
      cast: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  if (positionals.length !== 2)
    throw new UsageError('matmul takes two input files: tabswarm matmul a.npy b.npy -o c.npy')
  if (!values.output) throw new UsageError('matmul needs an output file: -o c.npy')
  const timeoutMs = timeoutMsFlag(values.timeout, DEFAULT_TIMEOUT_SECONDS)
  const budget = budgetFlag(values.budget)
  const cast = castFlag(values.cast)

  const [aPath, bPath] = positionals as [string, string]
  const castFiles = new Set<string>()
  const read = { cast, onCast: (path: string) => castFiles.add(path) }
  // Read side by side, but a problem with both is told for a first, whichever read ends first.
  const [readA, readB] = await Promise.allSettled([
    readNpyFile(aPath, 'a', read),
    readNpyFile(bPath, 'b', read),
  ])
  if (readA.status === 'rejected') throw readA.reason
  if (readB.status === 'rejected') throw readB.reason
  const [a, b] = [readA.value, readB.value]
  // Named in argument order, once both are read.
  const cast64 = [aPath, bPath].filter((path) => castFiles.has(path))
  if (cast64.length > 0) process.stderr.write(castWarning(cast64))
  // The SDK checks again, but here the messages can name the files.
  checkMatrix(`a (${aPath})`, a)
  checkMatrix(`b (${bPath})`, b)
  await checkOutputFile(values.output)

  const client = clientFromFlags(values)
  const started = performance.now()
  const progress = createJobProgress(process.stderr, 'tiles verified', { quiet: values.json })
  let last: JobView | undefined
  const c = await client
    .matmul(a, b, {
      signal,
      timeoutMs,
      budget,
      onProgress: (job) => {
        // The first state tells the cost before any tile is computed.
        if (last == null && !values.json)
          process.stderr.write(
            `job ${job.id}: ${plural(job.tasks.total, 'tile')}, ${describeCredits(job)}\n`,
          )
        last = job
        progress.update(job)
      },
    })
    .finally(() => progress.done())
  await writeFile(values.output, encodeNpy(c))
  const seconds = (performance.now() - started) / 1000
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ output: values.output, shape: c.shape, dtype: c.dtype, seconds, ...(last ? { job: last.id, credits: last.credits } : {}) })}\n`,
    )
  } else {
    process.stdout.write(
      `wrote ${values.output}: float32 (${c.shape.join(', ')}) in ${seconds.toFixed(1)} s${last ? ` (job ${last.id}; ${describeCredits(last)})` : ''}\n`,
    )
  }
  return ExitCode.OK
}
