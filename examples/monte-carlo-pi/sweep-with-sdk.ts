/**
 * The same Monte Carlo sweep through the SDK instead of the CLI: the seeds stay in memory,
 * the price is quoted before submitting (the lower-level steps `client.map` does in one
 * call), and each verified result is folded into the
 * estimate as it arrives (in the order the coordinator accepts them).
 *
 *   npx node sweep-with-sdk.ts [--relay http://127.0.0.1:8787] [--tasks 16] [--per-task 4096]
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createClient, type JobSpec } from '@tabswarm/sdk'

/** Samples per seed, as in pi.wgsl. */
const SAMPLES = 4096
const { values } = parseArgs({
  options: {
    relay: { type: 'string', default: process.env.TABSWARM_RELAY ?? 'http://127.0.0.1:8787' },
    tasks: { type: 'string', default: '16' },
    'per-task': { type: 'string', default: '4096' },
  },
})
const tasks = Number(values.tasks)
const perTask = Number(values['per-task'])
if (![tasks, perTask].every((x) => Number.isSafeInteger(x) && x > 0))
  throw new Error('--tasks and --per-task must be positive integers')

const program = {
  wgsl: readFileSync(join(import.meta.dirname, 'pi.wgsl'), 'utf8'),
  inputs: [{ name: 'seeds', dtype: 'uint32' as const }],
  outputs: [{ name: 'hits', dtype: 'uint32' as const }],
}
const seeds = Array.from({ length: tasks }, (_, t) => ({
  shape: [perTask],
  data: Uint32Array.from(
    { length: perTask },
    (_, i) => Math.imul(t * perTask + i + 1, 0x9e3779b1) >>> 0,
  ),
}))

const client = createClient({ relay: values.relay })
const inputs = await Promise.all(seeds.map((tensor) => client.uploadTensor(tensor)))
const spec: JobSpec = {
  kernel: 'custom',
  name: 'monte-carlo-pi (SDK)',
  program,
  tasks: inputs.map((ref) => ({
    inputs: [ref],
    outputs: [{ shape: [perTask], dtype: 'uint32' }],
    // pi.wgsl runs 64 invocations per workgroup, one per seed.
    workgroups: [Math.ceil(perTask / 64), 1, 1],
  })),
}
const quote = await client.quote(spec)
console.error(`${quote.tasks} tasks for ${quote.credits} credits`)
const job = await client.submit(spec)

let hits = 0
let samples = 0
for await (const { outputs } of job.results()) {
  for (const h of outputs[0]!.data) hits += h
  samples += perTask * SAMPLES
  process.stderr.write(
    `\r${samples / (perTask * SAMPLES)}/${tasks} tasks, pi ≈ ${((4 * hits) / samples).toFixed(6)}`,
  )
}
process.stderr.write('\n')
const done = await job.status()
// The standard error of a proportion, times 4; pi.wgsl's sampling is unbiased far below it.
const p = hits / samples
const standardError = 4 * Math.sqrt((p * (1 - p)) / samples)
console.log(
  `pi ≈ ${(4 * p).toFixed(6)} ± ${standardError.toFixed(6)} (standard error) from ${samples.toLocaleString('en')} samples; ` +
    `spent ${done.credits.spent} credits, refunded ${done.credits.refunded}`,
)
