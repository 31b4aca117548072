/**
 * `npm run bench` runs every area; `npm run bench:<area>` (or `node bench/run.ts <area>`)
 * runs one. Each area writes `bench/<area>.md` and `bench/<area>.json`.
 */
import type { BenchArea } from './bench-types.ts'
import { describeMachine } from './machine.ts'
import { writeReport } from './report.ts'

/**
 * Each area loaded only when it runs: `bench:coordinator` does not load the reliability
 * suites' contributor loop, nor the kernels' GPU stack.
 */
const areas: Record<string, () => Promise<BenchArea>> = {
  kernels: async () => (await import('./areas/kernels.ts')).kernelsArea,
  'matmul-paths': async () => (await import('./areas/matmul-paths.ts')).matmulPathsArea,
  coordinator: async () => (await import('./areas/coordinator.ts')).coordinatorArea,
  swarm: async () => (await import('./areas/swarm.ts')).swarmArea,
  reliability: async () => (await import('./areas/reliability.ts')).reliabilityArea,
  settlement: async () => (await import('./areas/settlement.ts')).settlementArea,
  widget: async () => (await import('./areas/widget.ts')).widgetArea,
  inference: async () => (await import('./areas/inference.ts')).inferenceArea,
  scale: async () => (await import('./areas/scale.ts')).scaleArea,
}

const wanted = process.argv.slice(2)
const unknown = wanted.filter((name) => !(name in areas))
if (unknown.length > 0) {
  process.stderr.write(
    `bench: unknown area ${unknown.join(', ')}; known: ${Object.keys(areas).join(', ')}\n`,
  )
  process.exit(2)
}

const machine = describeMachine()
for (const name of Object.keys(areas).filter((a) => wanted.length === 0 || wanted.includes(a))) {
  const area = await areas[name]!()
  const log = (line: string) => process.stderr.write(`[${area.name}] ${line}\n`)
  log(`running: ${area.title}`)
  const started = performance.now()
  const result = await area.run(log)
  const files = await writeReport(area, machine, result)
  log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s: ${files.join(', ')}`)
}
