import {
  compareMatmul,
  createKernelHost,
  fromFloat16,
  type KernelHost,
  matmulReferenceWithBound,
  planKernel,
  SHADER_F16_FEATURE,
  seededRandomF32,
  selectMatmulCompute,
  toFloat16,
} from '@tabswarm/worker-kernels'
import { createNodeGpu } from '@tabswarm/worker-kernels/node'
import type { BenchArea, BenchRow } from '../bench-types.ts'

type Shape = readonly [m: number, k: number, n: number]

/**
 * Long reductions both paths can run: the default budget (2³⁰) takes each in one pass,
 * and a host with `SPLIT_BUDGET` must split k. A tiled 32×32 tile costs 2048 per step
 * of k (chunks of 2048 under 2²²), a row GEMV workgroup 512 (chunks of 8192).
 */
const SHAPES: Shape[] = [
  [64, 16384, 64],
  [1, 32768, 1024],
]
const SPLIT_BUDGET = 2 ** 22
const REPETITIONS = 9

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.floor(sorted.length / 2)] as number
}

type Contender = {
  host: KernelHost
  request: Parameters<KernelHost['run']>[0]
  check: (c: Float32Array) => void
}

const toF32 = (c: unknown): Float32Array =>
  c instanceof Uint16Array ? fromFloat16(c) : (c as Float32Array)

/**
 * Median milliseconds of one call of each contender, JS arrays in to JS array out, after
 * a warm-up whose product is checked. The contenders take turns, one call each, so
 * background load on a shared machine falls on all of them alike.
 */
async function timeInTurns(contenders: Contender[]): Promise<number[]> {
  for (const { host, request, check } of contenders) check(toF32(await host.run(request)))
  const samples: number[][] = contenders.map(() => [])
  for (let rep = 0; rep < REPETITIONS; rep++) {
    for (const [i, { host, request }] of contenders.entries()) {
      const started = performance.now()
      await host.run(request)
      samples[i]!.push(performance.now() - started)
    }
  }
  return samples.map(median)
}

/**
 * The matmul paths the planner picks by itself, on dawn in Node: split-K against the
 * unsplit kernel on reductions both can run, and the f16-arithmetic path against the
 * f32 fallback where the adapter has shader-f16 (SwiftShader does not: there the
 * fallback alone is measured, and the notes say so).
 */
export const matmulPathsArea: BenchArea = {
  name: 'matmul-paths',
  title: 'Matmul paths on dawn (Node): split-K vs one pass, f16 vs f32 arithmetic',
  async run(log) {
    const gpu = createNodeGpu()
    const whole = await createKernelHost({ gpu })
    const split = await createKernelHost({ gpu, maxWorkPerSubmission: SPLIT_BUDGET })
    const rows: BenchRow[] = []
    const notes: string[] = []
    try {
      const { info } = whole
      const adapterName =
        [info.description, info.vendor, info.architecture].filter(Boolean).join(' / ') || 'unknown'
      const hasF16 = info.deviceFeatures.includes(SHADER_F16_FEATURE)
      log(`adapter: ${adapterName}; shader-f16: ${hasF16}`)

      for (const [m, k, n] of SHAPES) {
        const a = seededRandomF32(m * k, m + k)
        const b = seededRandomF32(k * n, k + n)
        const { c, bound } = matmulReferenceWithBound(a, b, m, k, n)
        const check = (label: string) => (got: Float32Array) => {
          const result = compareMatmul(got, c, { k, bound })
          if (!result.ok)
            throw new Error(`${label} returned a wrong product: ${JSON.stringify(result)}`)
        }
        const request = { kernel: 'matmul' as const, a, b, m, k, n }
        const passes = planKernel(request, info.limits, {
          deviceFeatures: info.deviceFeatures,
          maxWorkPerSubmission: SPLIT_BUDGET,
        }).program.passes.length
        const [one, parts] = (await timeInTurns([
          { host: whole, request, check: check('one pass') },
          { host: split, request, check: check('split-K') },
        ])) as [number, number]
        const name = `matmul f32 ${m}x${k}x${n} split-K (${passes - 1} k-passes + sum)`
        log(`${name}: ${parts.toFixed(1)} ms; one pass ${one.toFixed(1)} ms`)
        rows.push({
          case: name,
          metric: 'ms',
          value: parts,
          unit: 'ms',
          vs: { name: 'one pass', value: one },
        })
      }

      const [m, k, n] = [256, 1024, 256]
      const aBits = toFloat16(seededRandomF32(m * k, 1))
      const bBits = toFloat16(seededRandomF32(k * n, 2))
      const { c, bound } = matmulReferenceWithBound(fromFloat16(aBits), fromFloat16(bBits), m, k, n)
      const f16Check = (compute: 'f32' | 'f16') => (got: Float32Array) => {
        const result = compareMatmul(got, c, { k, bound, dtype: 'f16', compute })
        if (!result.ok)
          throw new Error(`f16 ${compute} arithmetic: wrong product ${JSON.stringify(result)}`)
      }
      const request = {
        kernel: 'matmul' as const,
        a: aBits,
        b: bBits,
        m,
        k,
        n,
        dtype: 'float16' as const,
      }
      const fallbackRun = {
        host: whole,
        request: { ...request, compute: 'float32' as const },
        check: f16Check('f32'),
      }
      const name = `matmul f16 ${m}x${k}x${n}`
      if (hasF16) {
        const [native, fallback] = (await timeInTurns([
          {
            host: whole,
            request: { ...request, compute: 'float16' as const },
            check: f16Check('f16'),
          },
          fallbackRun,
        ])) as [number, number]
        log(
          `${name}: f16 arithmetic ${native.toFixed(1)} ms; f32 arithmetic ${fallback.toFixed(1)} ms`,
        )
        rows.push({
          case: `${name} f16 arithmetic`,
          metric: 'ms',
          value: native,
          unit: 'ms',
          vs: { name: 'f32 arithmetic', value: fallback },
        })
      } else {
        const [fallback] = (await timeInTurns([fallbackRun])) as [number]
        log(`${name}: f32 arithmetic (fallback) ${fallback.toFixed(1)} ms; no shader-f16`)
        rows.push({
          case: `${name} f32 arithmetic (fallback)`,
          metric: 'ms',
          value: fallback,
          unit: 'ms',
        })
      }

      notes.push(
        `Adapter: ${adapterName}${/swiftshader/i.test(adapterName) ? ' (SwiftShader, a CPU emulation of a GPU: only the ratios mean anything)' : ''}, via dawn in Node.`,
        `Split-K rows: the same product on a host with the default budget (2³⁰ work units per submission: one pass over k) and on one with ${SPLIT_BUDGET} (2²²), which makes the planner split k into passes writing partial sums and add them in a last pass. Ratio > 1 is what the split costs. k is split exactly when one workgroup's walk over it would exceed the budget, so each split pass's workgroups cost about the whole budget and the runner sends about one workgroup per submission: with few workgroups (small m·n, as here) that serializes work one pass spread over all cores, plus the extra submissions and the sum pass. Products longer than the default budget allows (e.g. 64×2²⁰×64) run only split; before split-K they were refused with KernelLimitError.`,
        hasF16
          ? `f16 rows: float16 data with f16 products summed in f32 (compute 'float16', WGSL \`enable f16;\`) against the same data with f32 arithmetic (compute 'float32').`
          : `f16 arithmetic path: not available on this adapter (no ${SHADER_F16_FEATURE}; auto picks ${selectMatmulCompute('float16', info.deviceFeatures)}); the f32-arithmetic fallback for float16 data is measured alone.`,
        `Each figure is the median of ${REPETITIONS} calls after a warm-up whose product passed compareMatmul against the f64 reference; each call goes from typed arrays in JS memory to the product in JS memory. The two sides of a row take turns, one call each. On a shared 2-core machine the ratios move between runs (before the sides took turns, runs of these rows gave 0.44× to 2.2×), so read them as an order of cost, not a precise overhead.`,
      )
      return {
        rows,
        machine: {
          gpuAdapter: adapterName,
          runtime: `dawn (webgpu npm) in Node ${process.version}`,
          shaderF16: hasF16,
        },
        notes,
      }
    } finally {
      whole.destroy()
      split.destroy()
    }
  },
}
