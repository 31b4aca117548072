import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compareMatmul } from '../../compare/matmul-tolerance.ts'
import { DEFAULT_MAX_WORK_PER_SUBMISSION } from '../../constants.ts'
import { createKernelHost, type KernelHost } from '../../host/kernel-host.ts'
import type { HostLimits } from '../../host/kernel-types.ts'
import { createNodeGpu } from '../../node/create-node-gpu.ts'
import { createWgslChecker } from '../../node/create-wgsl-checker.ts'
import { fromFloat16, toFloat16 } from '../../reference/float16.ts'
import { matmulReferenceWithBound } from '../../reference/matmul-reference.ts'
import { seededRandomF32 } from '../../reference/seeded-random.ts'
import type { PlanContext } from '../common/plan-context.ts'
import { planKernel } from '../plan-kernel.ts'
import { SHADER_F16_FEATURE, selectMatmulCompute } from './matmul-compute.ts'
import type { MatmulVariant } from './matmul-kernel.ts'

// The f16-arithmetic path is planned for devices with shader-f16. dawn's SwiftShader
// adapter (this repo's CI) does not offer the feature, so there the planner and WGSL are
// checked against a made-up host, and the real run below happens only on an adapter
// that has it (it.runIf: the reason it did not run is printed by vitest as skipped).

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

/** Whether dawn's adapter here offers shader-f16 (SwiftShader does not). */
const hasF16 = (await createNodeGpu().requestAdapter())?.features.has(SHADER_F16_FEATURE) ?? false

/** Every kernel the planner can pick: tiled, naive, row and column gemv. */
const CASES: { variant: MatmulVariant; m: number; k: number; n: number }[] = [
  { variant: 'tiled', m: 33, k: 65, n: 31 },
  { variant: 'tiled', m: 8, k: 16, n: 8 },
  { variant: 'naive', m: 17, k: 19, n: 23 },
  { variant: 'gemv', m: 1, k: 257, n: 300 },
  { variant: 'gemv', m: 300, k: 257, n: 1 },
]

function f16Request({ variant, m, k, n }: (typeof CASES)[number], seed = 1) {
  return {
    kernel: 'matmul' as const,
    a: toFloat16(seededRandomF32(m * k, seed)),
    b: toFloat16(seededRandomF32(k * n, seed + 1)),
    m,
    k,
    n,
    dtype: 'float16' as const,
    variant,
  }
}

const matmulCode = (request: ReturnType<typeof f16Request>, context: PlanContext): string =>
  planKernel(request, limits, context).program.passes[0]!.code

describe('matmul f16 arithmetic: planning', () => {
  it.each(CASES)(
    'picks the f16 WGSL for float16 data on a shader-f16 host ($variant $m×$k×$n)',
    (c) => {
      const code = matmulCode(f16Request(c), f16Host)
      expect(code.trimStart().startsWith('enable f16;')).toBe(true)
      expect(code).toMatch(/var<storage, read> a: array<f16>;/)
      expect(code).not.toContain('unpack2x16float')
      // Products in f16, sums in f32: the accumulators stay f32.
      expect(code).toMatch(/vec4<f32>\(|f32\(/)
    },
  )

  it.each(CASES)(
    'keeps the f32 WGSL without shader-f16 or when f32 is asked for ($variant)',
    (c) => {
      for (const code of [
        matmulCode(f16Request(c), plainHost),
        matmulCode({ ...f16Request(c), compute: 'float32' } as never, f16Host),
      ]) {
        expect(code).not.toContain('enable f16')
        expect(code).not.toContain('f16')
        expect(code).toContain('unpack2x16float')
      }
    },
  )

  it('keeps float32 data on the f32 path on any host, and names the path in the pass label', () => {
    const request = {
      ...f16Request(CASES[0]!),
      a: new Float32Array(33 * 65),
      b: new Float32Array(65 * 31),
      dtype: 'float32' as const,
    }
    expect(matmulCode(request as never, f16Host)).not.toContain('f16')
    const label = (context: PlanContext) =>
      planKernel(f16Request(CASES[0]!), limits, context).program.passes[0]!.label
    expect(label(f16Host)).toBe('matmul-tiled-float16-f16-arithmetic')
    expect(label(plainHost)).toBe('matmul-tiled-float16')
  })
})

describe('matmul f16 arithmetic: compiling and running', () => {
  const checker = createWgslChecker()
  let host: KernelHost
  beforeAll(async () => {
    host = await createKernelHost({ gpu: createNodeGpu() })
  })
  afterAll(() => {
    checker.close()
    host?.destroy()
  })

  it.each(CASES)('the f16 WGSL, with f16 spelled f32, compiles here ($variant)', async (c) => {
    // SwiftShader cannot compile `enable f16;`; this checks everything but the f16
    // typing itself (names, bindings, control flow, conversions), which is symmetric.
    const code = matmulCode(f16Request(c), f16Host)
      .replace('enable f16;', '')
      .replaceAll('f16', 'f32')
    expect(await checker.check(code)).toEqual([])
  })

  it('this adapter reports whether it has shader-f16, and the host requests it when it does', () => {
    const hasF16 = host.info.features.includes(SHADER_F16_FEATURE)
    expect(host.info.deviceFeatures.includes(SHADER_F16_FEATURE)).toBe(hasF16)
    expect(selectMatmulCompute('float16', host.info.deviceFeatures)).toBe(
      hasF16 ? 'float16' : 'float32',
    )
  })

  it('float16 data runs on the f32 fallback where there is no shader-f16, within the f32 bound', async () => {
    const hasF16 = host.info.deviceFeatures.includes(SHADER_F16_FEATURE)
    for (const c of CASES) {
      const request = { ...f16Request(c, 7), compute: 'float32' as const }
      const { c: want, bound } = matmulReferenceWithBound(
        fromFloat16(request.a),
        fromFloat16(request.b),
        c.m,
        c.k,
        c.n,
      )
      const got = fromFloat16(await host.run(request))
      expect(
        compareMatmul(got, want, { k: c.k, bound, dtype: 'f16' }),
        `${c.variant} ${hasF16}`,
      ).toMatchObject({ ok: true })
    }
  })

  // Skipped where the adapter lacks shader-f16 (SwiftShader, so this repo's CI): the f16
  // path cannot compile there, and running the fallback instead would test nothing new.
  it.runIf(hasF16)(
    'runs the f16 WGSL on an adapter with shader-f16, within the f16-product bound (needs shader-f16)',
    async () => {
      for (const c of CASES) {
        const code = matmulCode(f16Request(c), f16Host)
        expect(await checker.check(code)).toEqual([])
        const request = { ...f16Request(c, 11), compute: 'float16' as const }
        const { c: want, bound } = matmulReferenceWithBound(
          fromFloat16(request.a),
          fromFloat16(request.b),
          c.m,
          c.k,
          c.n,
        )
        const got = fromFloat16(await host.run(request))
        expect(
          compareMatmul(got, want, { k: c.k, bound, dtype: 'f16', compute: 'f16' }),
          c.variant,
        ).toMatchObject({ ok: true })
      }
    },
  )
})
