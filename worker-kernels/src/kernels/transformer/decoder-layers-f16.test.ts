import type { DecoderFamily } from '@tabswarm/protocol'
import { afterAll, describe, expect, it } from 'vitest'
import { DEFAULT_MAX_WORK_PER_SUBMISSION } from '../../constants.ts'
import { KernelLimitError, KernelShapeError } from '../../errors.ts'
import type { KernelRunner } from '../../host/kernel-runner.ts'
import type { HostLimits } from '../../host/kernel-types.ts'
import { createGpuDecoderStage } from '../../inference/gpu-decoder-stage.ts'
import { createWgslChecker } from '../../node/create-wgsl-checker.ts'
import { toFloat16 } from '../../reference/float16.ts'
import { createTestModel } from '../../testing/test-model.ts'
import type { PlanContext } from '../common/plan-context.ts'
import { SHADER_F16_FEATURE } from '../matmul/matmul-compute.ts'
import { planKernel } from '../plan-kernel.ts'
import { selectDecoderCompute } from './decoder-compute.ts'
import type { DecoderLayersRequest } from './transformer-requests.ts'

// The decoder's f16-arithmetic path is planned for devices with shader-f16. SwiftShader
// (dawn here, this repo's CI) lacks the feature, so the planner is checked against a
// made-up host and the f16 WGSL is compiled with f16 spelled f32; the real f16 run is in
// gpu-decoder-stage.test.ts, on adapters that have the feature.

const limits: HostLimits = {
  maxComputeWorkgroupStorageSize: 16384,
  maxStorageBufferBindingSize: 1 << 27,
  maxBufferSize: 1 << 28,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 8,
  maxUniformBufferBindingSize: 65536,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupSizeZ: 64,
}
const f16Host: PlanContext = {
  deviceFeatures: [SHADER_F16_FEATURE],
  maxWorkPerSubmission: DEFAULT_MAX_WORK_PER_SUBMISSION,
}
const plainHost: PlanContext = { ...f16Host, deviceFeatures: [] }

/**
 * The `decoder-layers` requests a whole-model stage sends for one prefill step and one
 * head call, captured from `createGpuDecoderStage` (so these are the requests the stage
 * really makes), for a 1-layer model of `family` with weights stored as `dtype`.
 */
async function stageRequests(
  family: DecoderFamily,
  dtype: 'float32' | 'float16',
  stageOptions: { features?: string[]; compute?: 'auto' | 'float32' | 'float16' } = {},
): Promise<{ compute: string; step: DecoderLayersRequest; head: DecoderLayersRequest }> {
  const model = createTestModel({ family, dtype, layers: 1, hiddenSize: 32, vocabSize: 270 })
  const weights = new Map(
    [...model.weights].map(([name, data]) => [
      name,
      dtype === 'float16'
        ? ({ dtype, data: toFloat16(data) } as const)
        : ({ dtype, data } as const),
    ]),
  )
  const sent: DecoderLayersRequest[] = []
  const { config } = model
  const runner: KernelRunner = {
    // Answers with zeros of the sizes the stage expects; only the requests matter here.
    async run(request) {
      const r = request as DecoderLayersRequest
      sent.push(r)
      const kvDim = config.kvHeads * config.headDim
      const results = [new Float32Array(r.rows * config.hiddenSize)]
      for (const _ of r.layers)
        results.push(new Float32Array(r.rows * kvDim), new Float32Array(r.rows * kvDim))
      if (r.head === true) results.push(new Float32Array(config.vocabSize))
      return results as never
    },
  }
  const stage = createGpuDecoderStage(runner, {
    config,
    fromLayer: 0,
    toLayer: config.layers,
    weights,
    ...stageOptions,
  })
  const hidden = await stage.forward({ tokens: Int32Array.of(3, 9, 200) }, stage.createCache())
  await stage.topLogits(hidden.slice(-config.hiddenSize), 4)
  const [step, head] = sent as [DecoderLayersRequest, DecoderLayersRequest]
  return { compute: stage.compute, step, head }
}

const passesOf = (request: DecoderLayersRequest, context: PlanContext) =>
  planKernel(request, limits, context).program.passes

const isLinear = (label: string) => label.startsWith('linear-')

const FAMILIES = ['gpt2', 'llama'] as const

describe('decoder-layers f16 arithmetic: planning', () => {
  it.each(FAMILIES)(
    'f16 WGSL for every projection, and only those, with float16 weights on a shader-f16 host (%s)',
    async (family) => {
      const { step, head } = await stageRequests(family, 'float16', {
        features: [SHADER_F16_FEATURE],
      })
      expect(step.compute).toBe('float16')
      expect(head.compute).toBe('float16')
      for (const request of [step, head]) {
        const passes = passesOf(request, f16Host)
        const linear = passes.filter((p) => isLinear(p.label))
        // gpt2: q, k, v from the fused weight, out, up, down; llama: q, k, v, out, up, gate, down.
        expect(linear.length).toBe(request.head === true ? 1 : family === 'gpt2' ? 6 : 7)
        for (const p of linear) {
          expect(p.label).toMatch(/^linear-(in-out|out-in)-float16-f16-arithmetic$/)
          expect(p.code.trimStart().startsWith('enable f16;')).toBe(true)
          expect(p.code).toContain('var<storage, read> w: array<f16>;')
          expect(p.code).not.toContain('unpack2x16float')
          // The product in f16, the running sum in f32.
          expect(p.code).toContain('sum += f32(f16(x[xBase + k]) * w[')
        }
        if (family === 'gpt2' && request.head !== true) {
          expect(linear.some((p) => p.code.includes('var<storage, read> bias: array<f16>;'))).toBe(
            true,
          )
        }
        // Norms, rotary, attention, activations, embedding, copies: f32 as before.
        for (const p of passes.filter((q) => !isLinear(q.label))) {
          expect(p.code, p.label).not.toContain('enable f16')
          expect(p.code, p.label).not.toMatch(/\bf16\b/)
        }
      }
    },
  )

  it.each(FAMILIES)(
    "today's f32 WGSL without shader-f16, for float32 weights, or with compute 'float32' (%s)",
    async (family) => {
      const cases = [
        { dtype: 'float16', features: [], host: plainHost },
        { dtype: 'float32', features: [SHADER_F16_FEATURE], host: f16Host },
        { dtype: 'float16', features: [SHADER_F16_FEATURE], host: f16Host, compute: 'float32' },
      ] as const
      for (const { dtype, features, host, ...rest } of cases) {
        const { compute, step, head } = await stageRequests(family, dtype, {
          features: [...features],
          ...rest,
        })
        expect(compute).toBe('float32')
        expect(step.compute).toBe('float32')
        for (const request of [step, head]) {
          const passes = passesOf(request, host)
          expect(passes.some((p) => isLinear(p.label))).toBe(true)
          for (const p of passes) {
            expect(p.code, `${dtype} ${p.label}`).not.toMatch(/\bf16\b/)
            expect(p.label).not.toContain('f16-arithmetic')
          }
          if (dtype === 'float16') {
            for (const p of passes.filter((q) => isLinear(q.label)))
              expect(p.code).toContain('unpack2x16float')
          }
        }
      }
    },
  )

  it("the f32 path's WGSL is byte for byte what a host without the feature plans", async () => {
    // `compute: 'float32'` on an f16 host and `auto` on a plain one: the same kernels.
    const { step } = await stageRequests('llama', 'float16')
    const plain = passesOf({ ...step, compute: 'auto' }, plainHost).map((p) => p.code)
    const forced = passesOf({ ...step, compute: 'float32' }, f16Host).map((p) => p.code)
    expect(forced).toEqual(plain)
  })

  it('auto follows the host when the request does not say, and float16 is refused where it cannot run', async () => {
    const { step } = await stageRequests('llama', 'float16')
    const { compute: _, ...auto } = step
    expect(passesOf(auto, f16Host).some((p) => p.label.endsWith('f16-arithmetic'))).toBe(true)
    expect(passesOf(auto, plainHost).some((p) => p.label.endsWith('f16-arithmetic'))).toBe(false)
    expect(() => passesOf({ ...step, compute: 'float16' }, plainHost)).toThrow(KernelLimitError)
    expect(() => passesOf({ ...step, compute: 'float16' }, plainHost)).toThrow(/shader-f16/)
    const { step: f32Step } = await stageRequests('llama', 'float32')
    expect(() => passesOf({ ...f32Step, compute: 'float16' }, f16Host)).toThrow(KernelShapeError)
    expect(() => passesOf({ ...step, compute: 'half' as never }, f16Host)).toThrow(
      /compute must be one of auto, float32, float16, got half/,
    )
  })

  it('the stage reports float16 exactly when the planner will run the f16 path', async () => {
    for (const dtype of ['float16', 'float32'] as const) {
      for (const features of [[SHADER_F16_FEATURE], []]) {
        const { compute, step } = await stageRequests('gpt2', dtype, { features })
        expect(compute).toBe(selectDecoderCompute(dtype, features))
        const f16Planned = passesOf(step, { ...f16Host, deviceFeatures: features }).some((p) =>
          p.label.endsWith('f16-arithmetic'),
        )
        expect(f16Planned).toBe(compute === 'float16')
      }
    }
    await expect(stageRequests('gpt2', 'float16', { compute: 'float16' })).rejects.toThrow(
      KernelLimitError,
    )
  })
})

describe('decoder-layers f16 arithmetic: compiling', () => {
  const checker = createWgslChecker()
  afterAll(() => checker.close())

  it.each(FAMILIES)(
    'every pass of the f16 plan compiles here, with f16 spelled f32 (%s)',
    async (family) => {
      // SwiftShader cannot compile `enable f16;`: this checks everything but the f16
      // typing itself (names, bindings, control flow, conversions).
      const { step, head } = await stageRequests(family, 'float16', {
        features: [SHADER_F16_FEATURE],
      })
      const codes = new Set(
        [...passesOf(step, f16Host), ...passesOf(head, f16Host)]
          .filter((p) => isLinear(p.label))
          .map((p) => p.code.replace('enable f16;', '').replaceAll('f16', 'f32')),
      )
      expect(codes.size).toBeGreaterThan(1)
      for (const code of codes) expect(await checker.check(code)).toEqual([])
    },
  )
})
