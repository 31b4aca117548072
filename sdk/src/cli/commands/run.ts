import { rename, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'
import type { JobView } from '@tabswarm/protocol'
import { encodeNpy, type NpyHeader } from '@tabswarm/protocol'
import { cancelAfterAbort } from '../../client/cancel-after-abort.ts'
import { JobAbortedError } from '../../client/client-errors.ts'
import { forEachConcurrently } from '../../client/for-each-concurrently.ts'
import type { JobHandle } from '../../client/job-handle.ts'
import { RUN_TIMEOUT_MS, UPLOAD_CONCURRENCY } from '../../constants.ts'
import { clientFlags, clientFlagsHelp, clientFromFlags } from '../cli-client.ts'
import { ExitCode } from '../exit-codes.ts'
import { budgetFlag, castFlag, castFlagHelp, jobFlagsHelp, timeoutMsFlag } from '../flags.ts'
import { createJobProgress } from '../job-progress.ts'
import { describeCredits } from '../job-summary.ts'
import { readNpyFile, readNpyFileHeader } from '../npy-files.ts'
import { warnOnceOnCast } from '../npy-float64.ts'
import { prepareOutputDir } from '../output-dir.ts'
import { plural } from '../plural.ts'
import { createProgressBar } from '../progress-bar.ts'
import { checkRunJobSize, runJobSpec } from '../run/run-job-spec.ts'
import { loadRunSpec } from '../run/run-spec.ts'
import { UsageError } from '../usage-error.ts'

const DEFAULT_TIMEOUT_SECONDS = RUN_TIMEOUT_MS / 1000

export const runHelp = `Usage: tabswarm run <spec.json> [options]

Runs a custom WGSL kernel over many .npy inputs: one task per input file, verified like any
task, one output file per input (<output dir>/<input name>.npy), written as results arrive.

spec.json (paths relative to it):
  {
    "wgsl": "kernel.wgsl",                      WGSL source; input at @binding(0) (read-only
    "entryPoint": "main",                       storage), output at @binding(1) (read_write)
    "inputs": "inputs/",                        a directory of .npy files, or a list of them
    "output": { "dtype": "float32", "shape": "input" },   or "shape": [n, ...]
    "workgroups": { "elementsPerWorkgroup": 64 },         or [x, y, z]
    "outputDir": "out"
  }

Every input's header is checked, and the output directory created, before anything is
uploaded; the output directory may not be an input directory.

While it runs, stderr says what the job waits for (no contributors online, a second
opinion, busy contributors): a progress bar on a terminal, a line every 5 s elsewhere.

Options:
  -o, --output-dir <dir>  overrides the spec's outputDir
${castFlagHelp}
${jobFlagsHelp(DEFAULT_TIMEOUT_SECONDS)}
${clientFlagsHelp}
  --json                  print a JSON summary (and no progress)
  -h, --help              show this help

Ctrl-C cancels the job and says what was refunded; outputs already written stay.`

/** `tabswarm run spec.json`: maps a custom WGSL kernel over .npy inputs; resolves with the exit code. */
export async function runCommand(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...clientFlags,
      'output-dir': { type: 'string', short: 'o' },
      budget: { type: 'string' },
      timeout: { type: 'string' },
      cast: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  if (positionals.length !== 1)
    throw new UsageError('run takes one spec file: tabswarm run spec.json')
  const timeoutMs = timeoutMsFlag(values.timeout, DEFAULT_TIMEOUT_SECONDS)
  const budget = budgetFlag(values.budget)
  const cast = castFlag(values.cast)
  const spec = await loadRunSpec(positionals[0]!, {
    ...(values['output-dir'] ? { outputDir: values['output-dir'] } : {}),
  })

  // Everything that can be checked locally is checked before the first byte is uploaded.
  const headers: NpyHeader[] = new Array(spec.inputFiles.length)
  await forEachConcurrently(spec.inputFiles, UPLOAD_CONCURRENCY, async (file, index) => {
    headers[index] = await readNpyFileHeader(file, undefined, { cast })
  })
  const first = headers[0]!
  for (const [index, header] of headers.entries()) {
    if (header.dtype !== first.dtype)
      throw new UsageError(
        `input ${spec.inputFiles[index]} is ${header.dtype}; the first input is ${first.dtype}`,
      )
  }
  checkRunJobSize(spec, headers, budget)
  await prepareOutputDir(spec.outputDir, spec.inputFiles)

  const client = clientFromFlags(values)
  const stop = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])
  const tty = process.stderr.isTTY && !values.json
  const onCast = warnOnceOnCast(process.stderr)

  const uploadBar = createProgressBar(process.stderr, 'upload', { enabled: tty })
  const blobs: string[] = new Array(headers.length)
  let uploaded = 0
  try {
    // One failed read or upload stops the others.
    await forEachConcurrently(
      spec.inputFiles,
      UPLOAD_CONCURRENCY,
      async (file, index, uploads) => {
        const array = await readNpyFile(file, undefined, { cast, onCast })
        const header = headers[index]!
        if (array.dtype !== header.dtype || array.shape.join() !== header.shape.join())
          throw new UsageError(`input ${file} changed while the run was starting`)
        blobs[index] = (await client.uploadTensor(array, { signal: uploads })).blob
        uploadBar.update(++uploaded, headers.length)
      },
      stop,
    )
  } finally {
    uploadBar.done()
  }

  const started = performance.now()
  const job: JobHandle = await client.submit(
    runJobSpec(spec, headers, budget, (index) => blobs[index]!),
    { signal: stop },
  )
  if (!values.json && job.submitted != null)
    process.stderr.write(
      `job ${job.id}: ${plural(headers.length, 'task')}, ${describeCredits(job.submitted)}\n`,
    )

  const progress = createJobProgress(process.stderr, 'outputs written', { quiet: values.json })
  let written = 0
  // The stream's last state is the job's end: what it spent and refunded.
  let finished: JobView | undefined
  try {
    const onProgress = (state: JobView) => {
      finished = state
      progress.update(state, written)
    }
    for await (const result of job.results({ signal: stop, onProgress })) {
      const input = spec.inputFiles[result.index]
      const output = result.outputs[0]
      if (input == null || output == null) continue
      const path = join(spec.outputDir, basename(input))
      // Write then rename: a reader never sees half a file.
      await writeFile(`${path}.part`, encodeNpy(output))
      await rename(`${path}.part`, path)
      written++
      if (finished != null) progress.update(finished, written)
    }
  } catch (err) {
    // Whatever went wrong (Ctrl-C, a full disk, a relay fault), the job must not go on
    // spending credits for outputs nobody will write.
    const cancelled = await cancelAfterAbort(job)
    // Ctrl-C or --timeout: the message says what was cancelled and refunded.
    if (stop.aborted) throw new JobAbortedError(job.id, stop.reason, cancelled)
    throw err
  } finally {
    progress.done()
  }
  const seconds = (performance.now() - started) / 1000
  // results() ends only after the terminal state, and onProgress saw it first.
  const end = finished!
  if (values.json)
    process.stdout.write(
      `${JSON.stringify({ job: job.id, tasks: headers.length, written, outputDir: spec.outputDir, seconds, credits: end.credits })}\n`,
    )
  else
    process.stdout.write(
      `wrote ${plural(written, 'output')} to ${spec.outputDir} in ${seconds.toFixed(1)} s (job ${job.id}; ${describeCredits(end)})\n`,
    )
  return ExitCode.OK
}
