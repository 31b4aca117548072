import { readFile, writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { encodeNpy, type NdArray, parseNpy } from '../../npy/npy.ts'
import { clientFlags, clientFlagsHelp, clientFromFlags } from '../cli-client.ts'
import { createProgressBar } from '../progress-bar.ts'
import { UsageError } from '../usage-error.ts'

export const matmulHelp = `Usage: tabswarm matmul <a.npy> <b.npy> -o <c.npy> [options]

Multiplies two float32 matrices on the swarm: C = A·B, split into tiles that contributor
tabs compute and the coordinator verifies. Inputs and output are numpy .npy files (C order).

Options:
  -o, --output <file>  where to write C (required)
  --budget <credits>   most credits the job may spend
  --timeout <sec>      give up (and cancel the job) after this long (default 1800)
${clientFlagsHelp}
  --json               print the result summary as JSON
  -h, --help           show this help`

async function readMatrix(path: string, label: string): Promise<NdArray<'float32'>> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UsageError(
      code === 'ENOENT'
        ? `${label}: no such file ${path}`
        : `${label}: cannot read ${path} (${code})`,
    )
  }
  let array: NdArray
  try {
    array = parseNpy(bytes)
  } catch (err) {
    throw new UsageError(`${label}: ${path}: ${(err as Error).message}`)
  }
  if (array.dtype !== 'float32')
    throw new UsageError(`${label}: ${path} is ${array.dtype}; matmul takes float32`)
  if (array.shape.length !== 2)
    throw new UsageError(`${label}: ${path} must be 2-D, has shape (${array.shape.join(', ')})`)
  return array as NdArray<'float32'>
}

export async function matmulCommand(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...clientFlags,
      output: { type: 'string', short: 'o' },
      budget: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  if (positionals.length !== 2)
    throw new UsageError('matmul takes two input files: tabswarm matmul a.npy b.npy -o c.npy')
  if (!values.output) throw new UsageError('matmul needs an output file: -o c.npy')
  const timeoutSec = values.timeout ? Number(values.timeout) : 1800
  if (!(timeoutSec > 0))
    throw new UsageError(`--timeout must be a positive number of seconds, got "${values.timeout}"`)
  const budget = values.budget != null ? Number(values.budget) : undefined
  if (budget != null && !(budget >= 0))
    throw new UsageError(`--budget must be a non-negative number, got "${values.budget}"`)

  const [a, b] = await Promise.all([
    readMatrix(positionals[0]!, 'a'),
    readMatrix(positionals[1]!, 'b'),
  ])
  const [m, k] = a.shape as [number, number]
  const [kb, n] = b.shape as [number, number]
  if (k !== kb)
    throw new UsageError(
      `shapes do not align: a is ${m}x${k}, b is ${kb}x${n} (a's columns must equal b's rows)`,
    )

  const client = clientFromFlags(values)
  const started = performance.now()
  const bar = createProgressBar(process.stderr, 'tiles verified', {
    enabled: process.stderr.isTTY && !values.json,
  })
  const c = await client
    .matmul(a, b, {
      signal,
      timeoutMs: timeoutSec * 1000,
      ...(budget != null ? { budget } : {}),
      onProgress: (job) => bar.update(job.tasks.accepted, job.tasks.total),
    })
    .finally(() => bar.done())
  await writeFile(values.output, encodeNpy(c))
  const seconds = (performance.now() - started) / 1000
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ output: values.output, shape: c.shape, dtype: c.dtype, seconds })}\n`,
    )
  } else {
    process.stdout.write(
      `wrote ${values.output}: float32 (${m}, ${n}) in ${seconds.toFixed(1)} s\n`,
    )
  }
  return 0
}
