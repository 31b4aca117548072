/**
 * A large matmul through the SDK: C = A·B with A 2048×1024 and B 1024×1536 (6.4 GFLOP),
 * split into tiles, computed by the swarm's tabs and workers, verified tile by tile.
 * The answer is checked here once more with Freivalds' test, in O(n²).
 *
 *   node large-matmul.ts [relay=http://127.0.0.1:8787]
 */
import { createClient } from '@tabswarm/sdk'
import { freivaldsCheck } from '@tabswarm/worker-kernels'

const relay = process.argv[2] ?? process.env.TABSWARM_RELAY ?? 'http://127.0.0.1:8787'
const [m, k, n] = [2048, 1024, 1536]
const random = (length: number) => Float32Array.from({ length }, () => Math.random() * 2 - 1)
const a = { shape: [m, k], data: random(m * k) }
const b = { shape: [k, n], data: random(k * n) }

const client = createClient({ relay })
const started = performance.now()
const c = await client.matmul(a, b, {
  onProgress: (job) => process.stderr.write(`\rtiles ${job.tasks.accepted}/${job.tasks.total}`),
})
const seconds = (performance.now() - started) / 1000
process.stderr.write('\n')
const check = freivaldsCheck({ a: a.data, b: b.data, c: c.data, m, k, n })
console.log(
  `C is ${c.shape.join('×')}, ${((2 * m * k * n) / seconds / 1e9).toFixed(2)} GFLOP/s end to end; ` +
    `Freivalds: ${check.ok ? 'ok' : 'MISMATCH'}`,
)
process.exitCode = check.ok ? 0 : 1
