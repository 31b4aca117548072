import { BYTES_PER_ELEMENT } from '@tabswarm/protocol'
import { KernelShapeError } from '../../errors.ts'
import type { ProgramBuffer, ProgramPass } from '../../host/gpu-program.ts'
import type { HostLimits } from '../../host/kernel-types.ts'
import type { FloatData, FloatDtype } from '../common/float-dtype.ts'
import { addFloatResult, addInput, type KernelPlan } from '../common/kernel-plan.ts'
import { DEFAULT_PLAN_CONTEXT, type PlanContext } from '../common/plan-context.ts'
import { createTiledMatmulKernel, DEFAULT_TILED_MATMUL_CONFIG } from './matmul.wgsl.ts'
import { type MatmulCompute, selectMatmulCompute } from './matmul-compute.ts'
import { createColumnVectorMatmulKernel, createRowVectorMatmulKernel } from './matmul-gemv.wgsl.ts'
import { type MatmulKernel, type MatmulVariant, packMatmulParams } from './matmul-kernel.ts'
import { assertMatmulFitsLimits } from './matmul-limits.ts'
import { createNaiveMatmulKernel } from './matmul-naive.wgsl.ts'
import type { MatmulRequest } from './matmul-request.ts'
import { assertBatchedMatmulShape } from './matmul-shape.ts'
import { createSumSplitsPass, planSplitK } from './matmul-split-k.ts'

const VARIANTS: readonly MatmulVariant[] = ['auto', 'tiled', 'naive', 'gemv']

// Kernels are built once per (variant, format, compute): their WGSL is the pipeline cache key.
const kernelCache = new Map<string, MatmulKernel>()

function kernelFor(
  variant: Exclude<MatmulVariant, 'auto'>,
  dtype: FloatDtype,
  compute: MatmulCompute,
  m: number,
  n: number,
): MatmulKernel {
  // vec4 loads of B and stores of C where n allows: on dawn/SwiftShader at 512³ they
  // took the tiled kernel from about 0.8 to 1.1 GFLOP/s (vec4 loads of A did not help).
  const vectorB = variant === 'tiled' && dtype === 'float32' && n % 4 === 0
  const vectorC = variant === 'tiled' && n % 4 === 0
  const shape = variant === 'gemv' ? (m === 1 ? 'row' : 'column') : ''
  const key = `${variant}:${dtype}:${compute}:${vectorB}:${vectorC}:${shape}`
  let kernel = kernelCache.get(key)
  if (!kernel) {
    if (variant === 'tiled') {
      kernel = createTiledMatmulKernel(DEFAULT_TILED_MATMUL_CONFIG, {
        dtype,
        vectorB,
        vectorC,
        compute,
      })
    } else if (variant === 'naive') {
      kernel = createNaiveMatmulKernel(dtype, compute)
    } else {
      kernel =
        m === 1
          ? createRowVectorMatmulKernel(dtype, compute)
          : createColumnVectorMatmulKernel(dtype, compute)
    }
    kernelCache.set(key, kernel)
  }
  return kernel
}

/** Which kernel a request runs on: `auto` resolved, `gemv` only where it applies. */
export function resolveMatmulVariant(
  variant: unknown,
  m: number,
  n: number,
): Exclude<MatmulVariant, 'auto'> {
  if (typeof variant !== 'string' || !VARIANTS.includes(variant as MatmulVariant)) {
    throw new KernelShapeError(
      `variant must be one of ${VARIANTS.join(', ')}, got ${String(variant)}.`,
    )
  }
  const vector = m === 1 || n === 1
  if (variant === 'gemv' && !vector) {
    throw new KernelShapeError(`variant gemv needs m = 1 or n = 1, got m = ${m}, n = ${n}.`)
  }
  if (variant === 'auto') return vector ? 'gemv' : 'tiled'
  return variant as Exclude<MatmulVariant, 'auto'>
}

/**
 * Validate a matmul request against its shapes and the device limits and plan it:
 * upload A and B, run the chosen kernel over a grid of (n/tileCols, m/tileRows, batch)
 * workgroups, read C back (packed to f16 for `float16`).
 *
 * The host's `context` decides two things. Arithmetic: float16 data runs with f16
 * products where the device has `shader-f16` (`selectMatmulCompute`), f32 otherwise.
 * Split-K: where one workgroup's walk over k would cost more than
 * `maxWorkPerSubmission`, k is split into passes writing partial sums to scratch and a
 * last pass adds them in order (`matmul-split-k.ts`); otherwise one pass, as always.
 * Throws `KernelShapeError` or `KernelLimitError` before anything touches the GPU.
 */
export function planMatmul(
  request: MatmulRequest,
  limits: HostLimits,
  context: PlanContext = DEFAULT_PLAN_CONTEXT,
): KernelPlan<FloatData> {
  const dtype = request.dtype ?? 'float32'
  if (dtype !== 'float32' && dtype !== 'float16') {
    throw new KernelShapeError(`dtype must be float32 or float16, got ${String(dtype)}.`)
  }
  const batch = request.batch ?? 1
  const { broadcastB } = assertBatchedMatmulShape({ ...request, batch, dtype })
  const { a, b, m, k, n } = request
  const variant = resolveMatmulVariant(request.variant ?? 'auto', m, n)
  const compute = selectMatmulCompute(dtype, context.deviceFeatures, request.compute ?? 'auto')
  const kernel = kernelFor(variant, dtype, compute, m, n)
  const workPerK = 2 * kernel.tileRows * kernel.tileCols
  const split = planSplitK(k, workPerK, context.maxWorkPerSubmission)
  const splits = split?.splits ?? 1
  const bytes = BYTES_PER_ELEMENT[dtype]
  assertMatmulFitsLimits({ m, k, n, batch, bytes, broadcastB, splits }, limits)

  const buffers: ProgramBuffer[] = []
  const aIndex = addInput(buffers, 'a', a)
  const bIndex = addInput(buffers, 'b', b)
  const count = batch * m * n
  const result = addFloatResult(buffers, 'c', count, dtype)
  const parts = split
    ? buffers.push({ kind: 'scratch', label: 'c-split-k', bytes: splits * count * 4 }) - 1
    : result.target
  const label = `matmul-${variant}-${dtype}${compute === 'float16' ? '-f16-arithmetic' : ''}`
  const chunkPasses = Array.from({ length: splits }, (_, s): ProgramPass => {
    const kBegin = split ? s * split.chunk : 0
    const kEnd = split ? Math.min(k, kBegin + split.chunk) : k
    return {
      key: kernel.code,
      label: split ? `${label}-k${s}` : label,
      code: kernel.code,
      reads: [aIndex, bIndex],
      writes: [parts],
      uniform: 'grid',
      params: packMatmulParams({
        m,
        k,
        n,
        strideA: m * k,
        strideB: broadcastB ? 0 : k * n,
        strideC: m * n,
        kBegin,
        kEnd,
        offsetC: s * count,
      }),
      grid: [Math.ceil(n / kernel.tileCols), Math.ceil(m / kernel.tileRows), batch],
      workPerWorkgroup: workPerK * (kEnd - kBegin),
    }
  })
  return {
    program: {
      label: `matmul-${variant}`,
      buffers,
      outputs: [result.output],
      passes: [
        ...chunkPasses,
        ...(split ? [createSumSplitsPass(parts, result.target, count, splits)] : []),
        ...result.finish,
      ],
    },
    decode: ([bytes]) => result.decode(bytes as ArrayBuffer),
  }
}
