import { createNodeGpu } from '/work/main/worker-kernels/src/node/index.ts'
import { acquireDeviceSession } from '/work/main/worker-kernels/src/host/device-session.ts'
import { runMatmul } from '/work/main/worker-kernels/src/host/run-matmul.ts'
import { createCallDeadline } from '/work/main/worker-kernels/src/host/call-deadline.ts'
import { createTiledMatmulKernel } from '/work/main/worker-kernels/src/kernels/matmul/matmul.wgsl.ts'
import { matmulNaiveKernel } from '/work/main/worker-kernels/src/kernels/matmul/matmul-naive.wgsl.ts'
const gpu = createNodeGpu()
const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1)
const configs = JSON.parse(process.argv[2] ?? '[[16,16,16]]') as number[][]
const shapes = JSON.parse(process.argv[3] ?? '[[512,512,512]]') as number[][]
for (const cfg of configs) {
  const kernel = cfg.length ? createTiledMatmulKernel({ threadsX: cfg[0]!, threadsY: cfg[1]!, tileK: cfg[2]! }) : matmulNaiveKernel
  const session = await acquireDeviceSession({ gpu, powerPreference: 'high-performance', onLost: () => {} })
  const pipeline = await session.pipelines.get(kernel)
  for (const [m, k, n] of shapes) {
    const a = rand(m! * k!), b = rand(k! * n!)
    const times: number[] = []
    for (let r = 0; r < 3; r++) {
      const deadline = createCallDeadline({ timeoutMs: 600000 })
      const t = performance.now()
      await runMatmul({ session, pipeline, kernel, request: { a, b, m: m!, k: k!, n: n! }, deadline, maxWorkgroupsPerDimension: 65535 })
      times.push(performance.now() - t)
      deadline.dispose()
    }
    const best = Math.min(...times)
    console.log(JSON.stringify(cfg), m, k, n, best.toFixed(0) + 'ms', (2 * m! * k! * n! / best / 1e6).toFixed(3) + ' GFLOPS')
  }
  session.destroy()
}
