import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'
import type { JobSpec } from '../../client/client.ts'
import type { JobHandle } from '../../client/job-handle.ts'
import { encodeNpy, type NdArray, parseNpy } from '../../npy/npy.ts'
import { clientFlags, clientFlagsHelp, clientFromFlags } from '../cli-client.ts'
import { ExitCode } from '../exit-codes.ts'
import { createProgressBar } from '../progress-bar.ts'
import { loadRunSpec } from '../run/run-spec.ts'
import { UsageError } from '../usage-error.ts'

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

Options:
  -o, --output-dir <dir>  overrides the spec's outputDir
  --budget <credits>      most credits the job may spend
  --timeout <sec>         give up (and cancel the job) after this long (default 3600)
${clientFlagsHelp}
  --json                  print a JSON summary
  -h, --help              show this help

Ctrl-C cancels the job; outputs already written stay.`

/** Uploads at most this many inputs at once. */
const UPLOAD_CONCURRENCY = 4

async function readInput(path: string): Promise<NdArray> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new UsageError(`cannot read input ${path} (${(err as NodeJS.ErrnoException).code})`)
  }
  try {
    return parseNpy(bytes)
  } catch (err) {
    throw new UsageError(`input ${path}: ${(err as Error).message}`)
  }
}

export async function runCommand(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...clientFlags,
      'output-dir': { type: 'string', short: 'o' },
      budget: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  if (positionals.length !== 1)
    throw new UsageError('run takes one spec file: tabswarm run spec.json')
  const timeoutSec = values.timeout ? Number(values.timeout) : 3600
  if (!(timeoutSec > 0))
    throw new UsageError(`--timeout must be a positive number of seconds, got "${values.timeout}"`)
  const budget = values.budget != null ? Number(values.budget) : undefined
  if (budget != null && !(budget >= 0))
    throw new UsageError(`--budget must be a non-negative number, got "${values.budget}"`)

  const spec = await loadRunSpec(positionals[0]!, {
    ...(values['output-dir'] ? { outputDir: values['output-dir'] } : {}),
  })
  const client = clientFromFlags(values)
  const stop = AbortSignal.any([signal, AbortSignal.timeout(timeoutSec * 1000)])
  const tty = process.stderr.isTTY && !values.json

  // Read and upload the inputs, a few at a time; check they agree with each other first.
  const uploadBar = createProgressBar(process.stderr, 'upload', { enabled: tty })
  const tasks: Extract<JobSpec, { kernel: 'custom' }>['tasks'] = []
  let inputDtype: NdArray['dtype'] | undefined
  let next = 0
  const uploadOne = async (): Promise<void> => {
    while (next < spec.inputFiles.length) {
      const index = next++
      const file = spec.inputFiles[index]!
      const array = await readInput(file)
      inputDtype ??= array.dtype
      if (array.dtype !== inputDtype)
        throw new UsageError(`input ${file} is ${array.dtype}; the first input is ${inputDtype}`)
      const elements = array.data.length
      const workgroups: [number, number, number] = Array.isArray(spec.workgroups)
        ? spec.workgroups
        : [Math.max(1, Math.ceil(elements / spec.workgroups.elementsPerWorkgroup)), 1, 1]
      const shape = spec.output.shape === 'input' ? array.shape : spec.output.shape
      tasks[index] = {
        inputs: [await client.uploadTensor(array, { signal: stop })],
        outputs: [{ shape, dtype: spec.output.dtype }],
        workgroups,
      }
      uploadBar.update(tasks.filter(Boolean).length, spec.inputFiles.length)
    }
  }
  await Promise.all(Array.from({ length: UPLOAD_CONCURRENCY }, uploadOne))
  uploadBar.done()

  const started = performance.now()
  const job: JobHandle = await client.submit(
    {
      kernel: 'custom',
      ...(spec.name ? { name: spec.name } : {}),
      ...(budget != null ? { budget } : {}),
      program: {
        wgsl: spec.wgslSource,
        entryPoint: spec.entryPoint,
        inputs: [{ name: 'input', dtype: inputDtype! }],
        outputs: [{ name: 'output', dtype: spec.output.dtype }],
      },
      tasks,
    },
    { signal: stop },
  )
  if (!values.json) process.stderr.write(`job ${job.id}: ${tasks.length} tasks\n`)

  await mkdir(spec.outputDir, { recursive: true })
  const bar = createProgressBar(process.stderr, 'results', { enabled: tty })
  let written = 0
  try {
    for await (const result of job.results({ signal: stop })) {
      const input = spec.inputFiles[result.index]
      const output = result.outputs[0]
      if (input == null || output == null) continue
      const path = join(spec.outputDir, basename(input))
      // Write then rename: a reader never sees half a file.
      await writeFile(`${path}.part`, encodeNpy(output))
      await rename(`${path}.part`, path)
      bar.update(++written, tasks.length)
    }
  } catch (err) {
    bar.done()
    if (stop.aborted) await job.cancel().catch(() => undefined)
    throw err
  }
  bar.done()
  const seconds = (performance.now() - started) / 1000
  if (values.json)
    process.stdout.write(
      `${JSON.stringify({ job: job.id, tasks: tasks.length, written, outputDir: spec.outputDir, seconds })}\n`,
    )
  else
    process.stdout.write(
      `wrote ${written} outputs to ${spec.outputDir} in ${seconds.toFixed(1)} s (job ${job.id})\n`,
    )
  return ExitCode.OK
}
