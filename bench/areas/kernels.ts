import type { KernelHost, MatmulVariant } from '@tabswarm/worker-kernels'
import { createNodeKernelHost } from '@tabswarm/worker-kernels/node'
import type { BenchArea, BenchRow } from '../bench-types.ts'

const SHAPES: Array<[number, number, number]> = [
  [256, 256, 256],
  [512, 512, 512],
  [300, 200, 130],
]

function random(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.random() * 2 - 1)
}

/** Median seconds of `reps` runs after one warm-up (which also compiles the pipeline). */
async function time(
  host: KernelHost,
  variant: MatmulVariant,
  m: number,
  k: number,
  n: number,
  reps: number,
) {
  const a = random(m * k)
  const b = random(k * n)
  await host.matmul({ a, b, m, k, n, variant })
  const samples: number[] = []
  for (let i = 0; i < reps; i++) {
    const start = performance.now()
    await host.matmul({ a, b, m, k, n, variant })
    samples.push((performance.now() - start) / 1000)
  }
  samples.sort((x, y) => x - y)
  return samples[Math.floor(samples.length / 2)]!
}

/** Matmul throughput on dawn in Node, our tiled kernel against the naive one on the same adapter. */
export const kernelsArea: BenchArea = {
  name: 'kernels',
  title: 'WGSL kernels on dawn (Node)',
  async run(log) {
    const host = await createNodeKernelHost()
    const rows: BenchRow[] = []
    try {
      for (const [m, k, n] of SHAPES) {
        const flop = 2 * m * k * n
        const reps = flop > 1e8 ? 3 : 5
        const tiled = await time(host, 'tiled', m, k, n, reps)
        const naive = await time(host, 'naive', m, k, n, reps)
        log(
          `${m}x${k}x${n}: tiled ${(flop / tiled / 1e9).toFixed(3)} GFLOPS, naive ${(flop / naive / 1e9).toFixed(3)}`,
        )
        rows.push({
          case: `matmul f32 ${m}x${k}x${n}`,
          metric: 'gflops',
          value: flop / tiled / 1e9,
          unit: 'GFLOP/s',
          vs: { name: 'naive-wgsl', value: flop / naive / 1e9 },
        })
      }
      const { vendor, architecture, description } = host.info
      const adapter = [description, vendor, architecture].filter(Boolean).join(' / ') || 'unknown'
      const emulated = /swiftshader/i.test(adapter)
      return {
        rows,
        machine: { gpuAdapter: adapter, runtime: 'dawn.node (webgpu npm package)' },
        notes: [
          emulated
            ? 'The adapter is SwiftShader, a CPU emulation of a GPU: only the ratios between kernels mean anything; the absolute GFLOP/s are not GPU speeds.'
            : `Adapter: ${adapter}.`,
          'Each figure is the median of 3-5 timed runs after one warm-up, including upload and read-back.',
        ],
      }
    } finally {
      host.destroy()
    }
  },
}
