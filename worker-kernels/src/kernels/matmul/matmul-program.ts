import { BYTES_PER_ELEMENT } from '@tabswarm/protocol'
import { KernelShapeError } from '../../errors.ts'
import type { ProgramBuffer } from '../../host/gpu-program.ts'
import type { HostLimits } from '../../host/kernel-types.ts'
import type { FloatData, FloatDtype } from '../common/float-dtype.ts'
import { addFloatResult, addInput, type KernelPlan } from '../common/kernel-plan.ts'
import { createTiledMatmulKernel, DEFAULT_TILED_MATMUL_CONFIG } from './matmul.wgsl.ts'
import { createColumnVectorMatmulKernel, createRowVectorMatmulKernel } from './matmul-gemv.wgsl.ts'
import { type MatmulKernel, type MatmulVariant, packMatmulParams } from './matmul-kernel.ts'
import { assertMatmulFitsLimits } from './matmul-limits.ts'
import { createNaiveMatmulKernel } from './matmul-naive.wgsl.ts'
import type { MatmulRequest } from './matmul-request.ts'
import { assertBatchedMatmulShape } from './matmul-shape.ts'

const VARIANTS: readonly MatmulVariant[] = ['auto', 'tiled', 'naive', 'gemv']

// Kernels are built once per (variant, format): their WGSL is the pipeline cache key.
const kernelCache = new Map<string, MatmulKernel>()

function kernelFor(
  variant: Exclude<MatmulVariant, 'auto'>,
  dtype: FloatDtype,
  m: number,
  n: number,
): MatmulKernel {
  // vec4 loads of B and stores of C where n allows: on dawn/SwiftShader at 512³ they
  // took the tiled kernel from about 0.8 to 1.1 GFLOP/s (vec4 loads of A did not help).
  const vectorB = variant === 'tiled' && dtype === 'float32' && n % 4 === 0
  const vectorC = variant === 'tiled' && n % 4 === 0
  const shape = variant === 'gemv' ? (m === 1 ? 'row' : 'column') : ''
  const key = `${variant}:${dtype}:${vectorB}:${vectorC}:${shape}`
  let kernel = kernelCache.get(key)
  if (!kernel) {
    if (variant === 'tiled') {
      kernel = createTiledMatmulKernel(DEFAULT_TILED_MATMUL_CONFIG, { dtype, vectorB, vectorC })
    } else if (variant === 'naive') {
      kernel = createNaiveMatmulKernel(dtype)
    } else {
      kernel = m === 1 ? createRowVectorMatmulKernel(dtype) : createColumnVectorMatmulKernel(dtype)
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
 * Throws `KernelShapeError` or `KernelLimitError` before anything touches the GPU.
 */
export function planMatmul(request: MatmulRequest, limits: HostLimits): KernelPlan<FloatData> {
  const dtype = request.dtype ?? 'float32'
  if (dtype !== 'float32' && dtype !== 'float16') {
    throw new KernelShapeError(`dtype must be float32 or float16, got ${String(dtype)}.`)
  }
  const batch = request.batch ?? 1
  const { broadcastB } = assertBatchedMatmulShape({ ...request, batch, dtype })
  const { a, b, m, k, n } = request
  assertMatmulFitsLimits({ m, k, n, batch, bytes: BYTES_PER_ELEMENT[dtype], broadcastB }, limits)
  const variant = resolveMatmulVariant(request.variant ?? 'auto', m, n)
  const kernel = kernelFor(variant, dtype, m, n)

  const buffers: ProgramBuffer[] = []
  const aIndex = addInput(buffers, 'a', a)
  const bIndex = addInput(buffers, 'b', b)
  const result = addFloatResult(buffers, 'c', batch * m * n, dtype)
  const tileWork = 2 * kernel.tileRows * kernel.tileCols * k
  return {
    program: {
      label: `matmul-${variant}`,
      buffers,
      outputs: [result.output],
      passes: [
        {
          key: kernel.code,
          label: `matmul-${variant}-${dtype}`,
          code: kernel.code,
          reads: [aIndex, bIndex],
          writes: [result.target],
          uniform: 'grid',
          params: packMatmulParams({
            m,
            k,
            n,
            strideA: m * k,
            strideB: broadcastB ? 0 : k * n,
            strideC: m * n,
          }),
          grid: [Math.ceil(n / kernel.tileCols), Math.ceil(m / kernel.tileRows), batch],
          workPerWorkgroup: tileWork,
        },
        ...result.finish,
      ],
    },
    decode: ([bytes]) => result.decode(bytes as ArrayBuffer),
  }
}
