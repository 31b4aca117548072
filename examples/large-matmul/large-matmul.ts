/**
 * A large matmul through the SDK: C = A·B, by default A 2048×1024 and B 1024×1536
 * (6.4 GFLOP), split into tiles, computed by the swarm's tabs and workers, verified tile
 * by tile. The answer is checked here once more with Freivalds' test, in O(n²).
 *
 * With a relay running (`npm start`) and at least one contributor (a browser tab on the
 * relay's page, or `npx tabswarm worker`), from the repository root:
 *
 *   npx node examples/large-matmul/large-matmul.ts [--relay http://127.0.0.1:8787] [--shape 2048x1024x1536]
 *
 * (`npx node` runs the project's own Node 24, which runs TypeScript as is.)
 */
import { parseArgs } from 'node:util'
import { createClient } from '@tabswarm/sdk'
import { freivaldsCheck } from '@tabswarm/worker-kernels'

const { values } = parseArgs({
  options: {
    relay: { type: 'string', default: process.env.TABSWARM_RELAY ?? 'http://127.0.0.1:8787' },
    shape: { type: 'string', default: '2048x1024x1536' },
  },
})
const dims = values.shape.split('x').map(Number)
if (dims.length !== 3 || !dims.every((d) => Number.isSafeInteger(d) && d > 0))
  throw new Error(`--shape must be MxKxN, got ${values.shape}`)
const [m, k, n] = dims as [number, number, number]
const random = (length: number) => Float32Array.from({ length }, () => Math.random() * 2 - 1)
const a = { shape: [m, k], data: random(m * k) }
const b = { shape: [k, n], data: random(k * n) }

const client = createClient({ relay: values.relay })
const started = performance.now()
const c = await client.matmul(a, b, {
  onProgress: (job) => process.stderr.write(`\rtiles ${job.tasks.accepted}/${job.tasks.total}`),
})
const seconds = (performance.now() - started) / 1000
process.stderr.write('\n')
const check = freivaldsCheck({ a: a.data, b: b.data, c: c.data, m, k, n }, { rounds: 4 })
console.log(
  `C is ${c.shape.join('×')}, ${((2 * m * k * n) / seconds / 1e9).toFixed(2)} GFLOP/s end to end; ` +
    `Freivalds: ${check.ok ? 'ok' : 'MISMATCH'}`,
)
process.exitCode = check.ok ? 0 : 1
