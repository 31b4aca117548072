import type { DecoderFamily } from '@tabswarm/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  compareActivations,
  compareTopLogits,
  decoderTolerance,
} from '../compare/decoder-tolerance.ts'
import { KernelAbortedError, KernelLimitError } from '../errors.ts'
import { createKernelHost, type KernelHost } from '../host/kernel-host.ts'
import { SHADER_F16_FEATURE } from '../kernels/matmul/matmul-compute.ts'
import { selectDecoderCompute } from '../kernels/transformer/decoder-compute.ts'
import { createKernelHostProcess } from '../node/create-kernel-host-process.ts'
import { createNodeGpu } from '../node/create-node-gpu.ts'
import { toFloat16 } from '../reference/float16.ts'
import { createTestModel } from '../testing/test-model.ts'
import type { DecoderStage, StageKvCache, StageWeights, TopLogitsResult } from './decoder-stage.ts'
import { generateBatch } from './generate-batch.ts'
import { createGpuDecoderStage } from './gpu-decoder-stage.ts'
import { createReferenceDecoderStage } from './reference-decoder-stage.ts'

// The GPU stage on dawn (SwiftShader here) against the f64 CPU stage, on small test models
// of both families, f32 and f16 weights, split in two stages as a pipeline runs them.
let host: KernelHost

/** Whether dawn's adapter here offers shader-f16 (SwiftShader, this repo's CI, does not). */
const hasF16 = (await createNodeGpu().requestAdapter())?.features.has(SHADER_F16_FEATURE) ?? false

beforeAll(async () => {
  host = await createKernelHost({ gpu: createNodeGpu() })
})

afterAll(() => host?.destroy())

const TOP = 8

function modelOf(family: DecoderFamily, dtype: 'float32' | 'float16', layers = 3) {
  // Llama: 4 query heads over 2 key/value heads (grouped-query attention).
  const model = createTestModel({ family, dtype, layers, hiddenSize: 64, vocabSize: 280 })
  const weights: StageWeights = new Map(
    [...model.weights].map(([name, data]) => [
      name,
      dtype === 'float16'
        ? ({ dtype, data: toFloat16(data) } as const)
        : ({ dtype, data } as const),
    ]),
  )
  return { model, weights }
}

/** Runs the same tokens through a pipeline of stages; returns each stage's output and the top logits. */
async function pipelineStep(
  stages: readonly DecoderStage[],
  caches: readonly StageKvCache[],
  tokens: Int32Array,
) {
  const outputs: Float32Array[] = []
  let x: Float32Array | undefined
  for (const [i, stage] of stages.entries()) {
    const input = x === undefined ? { tokens } : { x }
    x = await stage.forward(input, caches[i] as StageKvCache, { timeoutMs: 60_000 })
    outputs.push(x)
  }
  const last = stages.at(-1) as DecoderStage
  const hidden = last.config.hiddenSize
  const row = (x as Float32Array).slice(-hidden)
  return { outputs, top: await last.topLogits(row, TOP) }
}

describe.each([
  ['gpt2', 'float32'],
  ['gpt2', 'float16'],
  ['llama', 'float32'],
  ['llama', 'float16'],
] as const)('createGpuDecoderStage (%s, %s weights)', (family, dtype) => {
  it('matches the CPU stages over a two-stage prefill and single-token steps, and replays', async () => {
    const { model, weights } = modelOf(family, dtype)
    const { config } = model
    const split = [0, 2, config.layers]
    const make = (create: typeof createReferenceDecoderStage) =>
      [0, 1].map((i) =>
        create({ config, fromLayer: split[i] as number, toLayer: split[i + 1] as number, weights }),
      )
    const gpu = make((o) => createGpuDecoderStage(host, o))
    const cpu = make(createReferenceDecoderStage)
    expect(gpu[1]?.config.kvHeads).toBe(family === 'llama' ? 2 : config.heads)
    const gpuCaches = gpu.map((s) => s.createCache())
    const cpuCaches = cpu.map((s) => s.createCache())
    const steps = [
      Int32Array.of(5, 17, 260, 42, 99),
      Int32Array.of(7),
      Int32Array.of(200),
      Int32Array.of(3),
    ]
    const check = async (tokens: Int32Array) => {
      const a = await pipelineStep(gpu, gpuCaches, tokens)
      const b = await pipelineStep(cpu, cpuCaches, tokens)
      for (const [i, stage] of gpu.entries()) {
        const tolerance = decoderTolerance(config, {
          layers: stage.toLayer,
          kvLength: gpuCaches[i]?.length ?? 0,
          compute: 'float32',
        })
        const result = compareActivations(
          a.outputs[i] as Float32Array,
          b.outputs[i] as Float32Array,
          config.hiddenSize,
          tolerance,
        )
        expect(result, `stage ${i} after ${gpuCaches[i]?.length} positions`).toMatchObject({
          ok: true,
        })
      }
      const tolerance = decoderTolerance(config, {
        layers: config.layers,
        kvLength: gpuCaches[1]?.length ?? 0,
        compute: 'float32',
      })
      expect(compareTopLogits(a.top, b.top, tolerance)).toEqual({ ok: true })
      return a
    }
    const results = []
    for (const tokens of steps) results.push(await check(tokens))
    expect(gpuCaches.map((c) => c.length)).toEqual([8, 8])

    // Replay: forget the last two positions and run them again: the same answer.
    for (const cache of [...gpuCaches, ...cpuCaches]) cache.truncate(6)
    await check(Int32Array.of(200))
    const replayed = await check(Int32Array.of(3))
    expect(compareTopLogits(replayed.top, (results[3] as typeof replayed).top, 1e-6)).toEqual({
      ok: true,
    })
  })

  it('generates the reference greedy tokens', async () => {
    const { model, weights } = modelOf(family, dtype, 2)
    const { config } = model
    const options = {
      prompts: [Int32Array.of(1, 2, 3), Int32Array.of(250)],
      maxNewTokens: 4,
      sampling: { mode: 'greedy' as const },
      stop: [],
      topLogits: 4,
      firstPrompt: 0,
    }
    const whole = { config, fromLayer: 0, toLayer: config.layers, weights }
    const a = await generateBatch(createGpuDecoderStage(host, whole), options)
    const b = await generateBatch(createReferenceDecoderStage(whole), options)
    expect([...a.tokens]).toEqual([...b.tokens])
  })
})

describe('createGpuDecoderStage through a kernel host process', () => {
  it('runs each step as one message and matches the CPU stage', async () => {
    const { model, weights } = modelOf('llama', 'float16', 2)
    const { config } = model
    const child = await createKernelHostProcess()
    try {
      const whole = { config, fromLayer: 0, toLayer: config.layers, weights }
      const gpu = createGpuDecoderStage(child, whole)
      const cpu = createReferenceDecoderStage(whole)
      const caches = [gpu.createCache(), cpu.createCache()]
      for (const tokens of [Int32Array.of(9, 8, 7), Int32Array.of(6), Int32Array.of(5)]) {
        const [a, b] = await Promise.all(
          [gpu, cpu].map((stage, i) => pipelineStep([stage], [caches[i] as StageKvCache], tokens)),
        )
        const tolerance = decoderTolerance(config, {
          layers: config.layers,
          kvLength: caches[0]?.length ?? 0,
          compute: 'float32',
        })
        expect(
          compareTopLogits(a?.top as TopLogitsResult, b?.top as TopLogitsResult, tolerance),
        ).toEqual({ ok: true })
      }
    } finally {
      child.destroy()
    }
  })
})

describe('createGpuDecoderStage checks', () => {
  const { model, weights } = modelOf('llama', 'float32', 2)
  const { config } = model

  it('names a missing or mis-sized tensor at creation', () => {
    const missing = new Map(weights)
    missing.delete('model.layers.1.mlp.down_proj.weight')
    expect(() =>
      createGpuDecoderStage(host, { config, fromLayer: 0, toLayer: 2, weights: missing }),
    ).toThrow(/no tensor 'model\.layers\.1\.mlp\.down_proj\.weight' \(mlp-down-weight\)/)
    const short = new Map(weights)
    short.set('model.norm.weight', { dtype: 'float32', data: new Float32Array(3) })
    expect(() =>
      createGpuDecoderStage(host, { config, fromLayer: 1, toLayer: 2, weights: short }),
    ).toThrow(/'model\.norm\.weight' holds 3 values, not the 64/)
  })

  it('runs a checkpoint mixing f16 and f32 tensors (in f32)', async () => {
    const mixed = new Map(weights)
    const name = 'model.layers.0.mlp.up_proj.weight'
    mixed.set(name, {
      dtype: 'float16',
      data: toFloat16((weights.get(name) as { data: Float32Array }).data),
    })
    const whole = { config, fromLayer: 0, toLayer: 2, weights: mixed }
    const [a, b] = await Promise.all(
      [createGpuDecoderStage(host, whole), createReferenceDecoderStage(whole)].map((stage) =>
        pipelineStep([stage], [stage.createCache()], Int32Array.of(4, 5)),
      ),
    )
    const tolerance = decoderTolerance(config, { layers: 2, kvLength: 2, compute: 'float32' })
    expect(
      compareTopLogits(a?.top as TopLogitsResult, b?.top as TopLogitsResult, tolerance),
    ).toEqual({ ok: true })
  })

  it('the decoder-layers kernel names a bad tensor, token or cache before running', async () => {
    const tensors = { 'attention-norm-weight': new Float32Array(64) }
    const layer = { tensors, pastKeys: new Float32Array(0), pastValues: new Float32Array(0) }
    const base = { kernel: 'decoder-layers' as const, config, start: 0, rows: 1 }
    await expect(host.run({ ...base, x: new Float32Array(64), layers: [layer] })).rejects.toThrow(
      /layer 0 of the call lacks the q-weight tensor/,
    )
    await expect(
      host.run({
        ...base,
        x: new Float32Array(64),
        layers: [{ ...layer, tensors: { 'attention-norm-weight': new Float32Array(5) } }],
      }),
    ).rejects.toThrow(/attention-norm-weight\.length \(5\) must be 64/)
    await expect(
      host.run({ ...base, tokens: Int32Array.of(config.vocabSize), layers: [], head: true }),
    ).rejects.toThrow(/tokens\[0\] is \d+, outside the vocabulary/)
    await expect(
      host.run({ ...base, start: 1, x: new Float32Array(64), layers: [layer] }),
    ).rejects.toThrow(/pastKeys must be a Float32Array of start×kvHeads×headDim \(1×32\)/)
  })

  it('rejects a wrong-size input and an aborted signal', async () => {
    const stage = createGpuDecoderStage(host, { config, fromLayer: 1, toLayer: 2, weights })
    const cache = stage.createCache()
    await expect(stage.forward({ x: new Float32Array(65) }, cache)).rejects.toThrow(
      /65 values, not whole rows of 64/,
    )
    await expect(stage.forward({ tokens: Int32Array.of(1) }, cache)).rejects.toThrow(
      /takes activations/,
    )
    await expect(stage.topLogits(new Float32Array(63), 4)).rejects.toThrow(/not one row of 64/)
    const controller = new AbortController()
    controller.abort()
    await expect(
      stage.forward({ x: new Float32Array(64) }, cache, { signal: controller.signal }),
    ).rejects.toThrow(KernelAbortedError)
    expect(cache.length).toBe(0)
    stage.destroy()
    await expect(stage.forward({ x: new Float32Array(64) }, cache)).rejects.toThrow(/destroyed/)
  })

  it('rejects a signal aborted while the step runs', async () => {
    const stage = createGpuDecoderStage(host, { config, fromLayer: 0, toLayer: 2, weights })
    const cache = stage.createCache()
    const controller = new AbortController()
    const step = stage.forward({ tokens: Int32Array.of(1, 2, 3) }, cache, {
      signal: controller.signal,
    })
    controller.abort()
    await expect(step).rejects.toThrow(KernelAbortedError)
    expect(cache.length).toBe(0)
  })
})

/**
 * Runs `steps` through a two-stage GPU pipeline and the f64 CPU one, checking every
 * stage's activations and the top logits within `decoderTolerance` for `compute`.
 * Resolves to the GPU's outputs of the last step.
 */
async function matchReference(
  family: DecoderFamily,
  gpuOptions: { features?: readonly string[]; compute?: 'auto' | 'float32' | 'float16' },
  compute: 'float32' | 'float16',
) {
  const { model, weights } = modelOf(family, 'float16', 2)
  const { config } = model
  const ranges = [
    [0, 1],
    [1, 2],
  ] as const
  const gpu = ranges.map(([fromLayer, toLayer]) =>
    createGpuDecoderStage(host, { config, fromLayer, toLayer, weights, ...gpuOptions }),
  )
  const cpu = ranges.map(([fromLayer, toLayer]) =>
    createReferenceDecoderStage({ config, fromLayer, toLayer, weights }),
  )
  for (const stage of gpu) expect(stage.compute).toBe(compute)
  const caches = [gpu, cpu].map((stages) => stages.map((s) => s.createCache()))
  let last: Awaited<ReturnType<typeof pipelineStep>> | undefined
  for (const tokens of [Int32Array.of(5, 17, 260, 42), Int32Array.of(7), Int32Array.of(200)]) {
    const [a, b] = await Promise.all(
      [gpu, cpu].map((stages, i) => pipelineStep(stages, caches[i] as StageKvCache[], tokens)),
    )
    const kvLength = caches[0]?.[0]?.length ?? 0
    for (const [i, stage] of gpu.entries()) {
      const tolerance = decoderTolerance(config, { layers: stage.toLayer, kvLength, compute })
      expect(
        compareActivations(
          a?.outputs[i] as Float32Array,
          b?.outputs[i] as Float32Array,
          config.hiddenSize,
          tolerance,
        ),
        `${family} stage ${i} after ${kvLength} positions, ${compute}`,
      ).toMatchObject({ ok: true })
    }
    const tolerance = decoderTolerance(config, { layers: config.layers, kvLength, compute })
    expect(
      compareTopLogits(a?.top as TopLogitsResult, b?.top as TopLogitsResult, tolerance),
    ).toEqual({ ok: true })
    last = a
  }
  return last as Awaited<ReturnType<typeof pipelineStep>>
}

describe("createGpuDecoderStage with the adapter's features (the shader-f16 path)", () => {
  it.each(['gpt2', 'llama'] as const)(
    'runs float16 weights in the arithmetic these features select, within its bound (%s)',
    async (family) => {
      // Here (SwiftShader) that is the f32 fallback; on an adapter with shader-f16, f16.
      const features = host.info.deviceFeatures
      const compute = selectDecoderCompute('float16', features)
      expect(compute).toBe(hasF16 ? 'float16' : 'float32')
      await matchReference(family, { features }, compute)
    },
  )

  // Only reproducible where the device lacks the feature (SwiftShader): a stage told the
  // wrong features must not quietly compute in something other than what it reports.
  it.runIf(!hasF16)(
    'a stage told of shader-f16 on a device without it refuses rather than running f32',
    async () => {
      const { model, weights } = modelOf('llama', 'float16', 1)
      const stage = createGpuDecoderStage(host, {
        config: model.config,
        fromLayer: 0,
        toLayer: 1,
        weights,
        features: [SHADER_F16_FEATURE],
      })
      expect(stage.compute).toBe('float16')
      const cache = stage.createCache()
      await expect(stage.forward({ tokens: Int32Array.of(1) }, cache)).rejects.toThrow(
        KernelLimitError,
      )
      expect(cache.length).toBe(0)
    },
  )

  // Skipped where the adapter lacks shader-f16 (SwiftShader, so this repo's CI): the f16
  // path cannot compile there. vitest lists it as skipped.
  it.runIf(hasF16)(
    'multiplies in f16 on an adapter with shader-f16, within the float16 bound, unlike the f32 path (needs shader-f16)',
    async () => {
      const features = host.info.deviceFeatures
      for (const family of ['gpt2', 'llama'] as const) {
        const f16 = await matchReference(family, { features }, 'float16')
        const f32 = await matchReference(family, { features, compute: 'float32' }, 'float32')
        // The f16 products really ran: the residual stream is not the f32 path's.
        const a = f16.outputs.at(-1) as Float32Array
        const b = f32.outputs.at(-1) as Float32Array
        expect(a.some((v, i) => v !== b[i])).toBe(true)
      }
    },
  )
})
