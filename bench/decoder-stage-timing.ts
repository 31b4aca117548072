/**
 * Time per single-token step of the GPU decoder stage on dawn in Node (SwiftShader on a
 * machine without a GPU: CPU speed, never GPU speed): one stage of all layers against the
 * same layers split in stages, on a kernel host in this process and in a child process
 * (every call crossing a message, as a Web Worker's does).
 *
 *   npx tsx bench/decoder-stage-timing.ts [layers=6] [steps=10] [family=llama]
 */
import type { DecoderFamily } from '@tabswarm/protocol'
import type { KernelRunner } from '../worker-kernels/src/host/kernel-runner.ts'
import type { DecoderStage, StageWeights } from '../worker-kernels/src/inference/decoder-stage.ts'
import { createGpuDecoderStage } from '../worker-kernels/src/inference/gpu-decoder-stage.ts'
import { createKernelHostProcess } from '../worker-kernels/src/node/create-kernel-host-process.ts'
import { createNodeKernelHost } from '../worker-kernels/src/node/create-node-kernel-host.ts'
import { createTestModel } from '../worker-kernels/src/testing/test-model.ts'

const layers = Number(process.argv[2] ?? 6)
const steps = Number(process.argv[3] ?? 10)
const family = (process.argv[4] ?? 'llama') as DecoderFamily
const model = createTestModel({ family, layers, hiddenSize: 64 })
const weights: StageWeights = new Map(
  [...model.weights].map(([name, data]) => [name, { dtype: 'float32', data }] as const),
)
const { config } = model

/** Median milliseconds of one token through every stage (forward only, and with the head). */
async function time(runner: KernelRunner, per: number) {
  const stages: DecoderStage[] = []
  for (let from = 0; from < layers; from += per) {
    stages.push(
      createGpuDecoderStage(runner, { config, fromLayer: from, toLayer: from + per, weights }),
    )
  }
  const caches = stages.map((s) => s.createCache())
  const run = async (tokens: Int32Array) => {
    let x: Float32Array | undefined
    for (const [i, stage] of stages.entries()) {
      x = await stage.forward(x === undefined ? { tokens } : { x }, caches[i]!, {
        timeoutMs: 60_000,
      })
    }
    return x as Float32Array
  }
  await run(Int32Array.of(1, 2, 3, 4, 5, 6, 7, 8)) // prefill, and pipeline compilation
  const forward: number[] = []
  const withHead: number[] = []
  for (let s = 0; s < steps; s++) {
    const started = performance.now()
    const x = await run(Int32Array.of(10 + s))
    forward.push(performance.now() - started)
    await stages.at(-1)!.topLogits(x.slice(-config.hiddenSize), 8)
    withHead.push(performance.now() - started)
  }
  const median = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)]!
  return { forward: median(forward), withHead: median(withHead) }
}

const report = (where: string, per: number, t: { forward: number; withHead: number }) =>
  console.log(
    `${family} ${layers}×64, ${where}, ${layers / per} stage(s) of ${per}: ` +
      `${t.forward.toFixed(1)} ms/token forward, ${t.withHead.toFixed(1)} ms with the head (SwiftShader, not GPU speed)`,
  )

const local = await createNodeKernelHost()
for (const per of [layers, 2]) report('host in process', per, await time(local, per))
local.destroy()
const child = await createKernelHostProcess()
for (const per of [layers, 2]) report('host in a child process', per, await time(child, per))
child.destroy()
