import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compareMatmul } from '../../compare/matmul-tolerance.ts'
import { DEFAULT_MAX_WORK_PER_SUBMISSION } from '../../constants.ts'
import { KernelLimitError } from '../../errors.ts'
import { createKernelHost, type KernelHost } from '../../host/kernel-host.ts'
import type { HostLimits } from '../../host/kernel-types.ts'
import { planSubmissions } from '../../host/submission-plan.ts'
import { createNodeGpu } from '../../node/create-node-gpu.ts'
import { fromFloat16, toFloat16 } from '../../reference/float16.ts'
import { matmulReferenceWithBound } from '../../reference/matmul-reference.ts'
import { seededRandomF32 } from '../../reference/seeded-random.ts'
import { planKernel } from '../plan-kernel.ts'
import { selectMatmulCompute } from './matmul-compute.ts'
import type { MatmulVariant } from './matmul-kernel.ts'
import { MAX_SPLIT_K, planSplitK } from './matmul-split-k.ts'

const limits: HostLimits = {
  maxComputeWorkgroupStorageSize: 16384,
  maxStorageBufferBindingSize: 1 << 30,
  maxBufferSize: 1 << 30,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 8,
  maxUniformBufferBindingSize: 65536,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupSizeZ: 64,
}
const budget = (maxWorkPerSubmission: number) => ({ deviceFeatures: [], maxWorkPerSubmission })
const submissionLimits = (maxWorkPerSubmission: number) => ({
  maxWorkgroupsPerDimension: 65535,
  maxWorkPerSubmission,
})

describe('planSplitK', () => {
  it('leaves a reduction that fits unsplit', () => {
    expect(planSplitK(1000, 2048, 2048 * 1000)).toBeUndefined()
  })

  it('splits m = n = 64, k = 2²⁰ (a 32×32 tile costs 2048 per k) in two under the default budget', () => {
    expect(planSplitK(2 ** 20, 2048, DEFAULT_MAX_WORK_PER_SUBMISSION)).toEqual({
      chunk: 2 ** 19,
      splits: 2,
    })
  })

  it('cuts chunks to a multiple of 16 where it can, the last one shorter', () => {
    expect(planSplitK(1000, 2048, 2048 * 100)).toEqual({ chunk: 96, splits: 11 })
    expect(planSplitK(300, 2048, 2048 * 8)).toEqual({ chunk: 8, splits: 38 })
  })

  it('refuses a budget below one step of k, or one needing too many passes, saying what to raise', () => {
    expect(() => planSplitK(10, 2048, 2000)).toThrow(KernelLimitError)
    expect(() => planSplitK(10, 2048, 2000)).toThrow(/One step of k costs 2048/)
    expect(() => planSplitK(MAX_SPLIT_K + 1, 2048, 2048)).toThrow(/split-K passes/)
  })
})

describe('split-K planning', () => {
  it('m = 1, k = 2²², n = 1 was refused (one workgroup past the default budget) and now plans in passes within it', () => {
    const k = 2 ** 22
    const request = {
      kernel: 'matmul' as const,
      a: new Float32Array(k),
      b: new Float32Array(k),
      m: 1,
      k,
      n: 1,
    }
    // What the planner made before: one pass whose single workgroup walks all of k.
    const whole = planKernel(request, limits, budget(Number.POSITIVE_INFINITY)).program
    expect(whole.passes).toHaveLength(1)
    expect(() => planSubmissions(whole, submissionLimits(DEFAULT_MAX_WORK_PER_SUBMISSION))).toThrow(
      KernelLimitError,
    )
    const split = planKernel(request, limits).program
    expect(split.passes.map((p) => p.label)).toEqual([
      'matmul-gemv-float32-k0',
      'matmul-gemv-float32-k1',
      'matmul-sum-splits',
    ])
    // A row-vector workgroup costs 2·256 per step of k: 2²¹ steps per pass.
    expect(split.passes.map((p) => p.workPerWorkgroup)).toEqual([2 ** 30, 2 ** 30, 256 * 2])
    const plan = planSubmissions(split, submissionLimits(DEFAULT_MAX_WORK_PER_SUBMISSION))
    expect(plan.submissions.length).toBeGreaterThanOrEqual(2)
    expect(split.buffers.find((b) => b.label === 'c-split-k')).toMatchObject({ bytes: 2 * 4 })
  })

  it('leaves a product that fits exactly as before: one pass over all of k, no scratch', () => {
    const request = {
      kernel: 'matmul' as const,
      a: new Float32Array(33 * 1000),
      b: new Float32Array(1000 * 31),
      m: 33,
      k: 1000,
      n: 31,
    }
    const { passes, buffers } = planKernel(request, limits).program
    expect(passes).toHaveLength(1)
    expect(passes[0]).toMatchObject({
      label: 'matmul-tiled-float32',
      workPerWorkgroup: 2048 * 1000,
    })
    // m, k, n, strides, then kBegin 0, kEnd k, offsetC 0.
    expect([...(passes[0]!.params as Uint32Array)].slice(6, 9)).toEqual([0, 1000, 0])
    expect(buffers.map((b) => b.kind)).toEqual(['input', 'input', 'output'])
  })

  it('refuses a split whose partial sums do not fit a storage binding', () => {
    const small = { ...limits, maxStorageBufferBindingSize: 200_000 }
    const request = {
      kernel: 'matmul' as const,
      a: new Float32Array(64 * 400),
      b: new Float32Array(400 * 64),
      m: 64,
      k: 400,
      n: 64,
    }
    // Chunks of 16 make 25 splits: 25 copies of C, 409600 bytes, where A is 102400.
    expect(() => planKernel(request, small, budget(2048 * 16))).toThrow(
      /split-K scratch \(partial sums\) needs 409600 bytes \(splits\*m\*n\*4 = 25\*64\*64\*4\)/,
    )
  })
})

describe('split-K on the device', () => {
  // A tiny budget forces splits on shapes SwiftShader runs in well under a second.
  let host: KernelHost
  beforeAll(async () => {
    host = await createKernelHost({ gpu: createNodeGpu(), maxWorkPerSubmission: 2 ** 14 })
  })
  afterAll(() => host?.destroy())

  const cases: [MatmulVariant, number, number, number, number][] = [
    // variant, m, k, n, expected splits under 2¹⁴
    ['tiled', 33, 300, 31, 38],
    ['tiled', 20, 200, 36, 25],
    ['naive', 17, 300, 23, 10],
    ['gemv', 1, 1000, 300, 32],
    ['gemv', 300, 5000, 1, 3],
  ]

  it.each(cases)(
    '%s %i×%i×%i: computed in passes, within γₖ of the reference',
    async (variant, m, k, n, splits) => {
      const a = seededRandomF32(m * k, m + k)
      const b = seededRandomF32(k * n, n + k)
      const request = { kernel: 'matmul' as const, a, b, m, k, n, variant }
      const passes = planKernel(request, host.info.limits, budget(2 ** 14)).program.passes
      expect(
        passes.filter((p) => p.label.startsWith('matmul-') && p.label !== 'matmul-sum-splits'),
      ).toHaveLength(splits)
      const { c, bound } = matmulReferenceWithBound(a, b, m, k, n)
      const got = await host.run(request)
      expect(compareMatmul(got, c, { k, bound })).toMatchObject({ ok: true, mismatches: 0 })
      // The partial sums are added in a fixed order: the same inputs give the same bits.
      expect(await host.run(request)).toEqual(got)
    },
  )

  it('splits a batched float16 product with a broadcast B', async () => {
    const [batch, m, k, n] = [3, 20, 200, 36]
    const a = seededRandomF32(batch * m * k, 5)
    const b = seededRandomF32(k * n, 6)
    const a16 = toFloat16(a)
    const b16 = toFloat16(b)
    const got = fromFloat16(
      await host.run({ kernel: 'matmul', a: a16, b: b16, m, k, n, batch, dtype: 'float16' }),
    )
    const bf = fromFloat16(b16)
    for (let i = 0; i < batch; i++) {
      const ai = fromFloat16(a16.subarray(i * m * k, (i + 1) * m * k))
      const { c, bound } = matmulReferenceWithBound(ai, bf, m, k, n)
      const gi = got.subarray(i * m * n, (i + 1) * m * n)
      // Whichever arithmetic this adapter gets for float16 (f32 on SwiftShader).
      const compute = selectMatmulCompute('float16', host.info.deviceFeatures)
      const options = {
        k,
        bound,
        dtype: 'f16',
        compute: compute === 'float16' ? 'f16' : 'f32',
      } as const
      expect(compareMatmul(gi, c, options), `batch ${i}`).toMatchObject({
        ok: true,
      })
    }
  })
})
