/**
 * `npm run bench` runs every area; `npm run bench:<area>` (or `node bench/run.ts <area>`)
 * runs one. Each area writes `bench/<area>.md` and `bench/<area>.json`.
 */
import { coordinatorArea } from './areas/coordinator.ts'
import { kernelsArea } from './areas/kernels.ts'
import { reliabilityArea } from './areas/reliability.ts'
import { swarmArea } from './areas/swarm.ts'
import type { BenchArea } from './bench-types.ts'
import { describeMachine } from './machine.ts'
import { writeReport } from './report.ts'

const areas: BenchArea[] = [kernelsArea, coordinatorArea, swarmArea, reliabilityArea]

const wanted = process.argv.slice(2)
const unknown = wanted.filter((name) => !areas.some((a) => a.name === name))
if (unknown.length > 0) {
  process.stderr.write(
    `bench: unknown area ${unknown.join(', ')}; known: ${areas.map((a) => a.name).join(', ')}\n`,
  )
  process.exit(2)
}

const machine = describeMachine()
for (const area of areas.filter((a) => wanted.length === 0 || wanted.includes(a.name))) {
  const log = (line: string) => process.stderr.write(`[${area.name}] ${line}\n`)
  log(`running: ${area.title}`)
  const started = performance.now()
  const result = await area.run(log)
  const files = await writeReport(area, machine, result)
  log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s: ${files.join(', ')}`)
}
