import {
  type KernelRunner,
  type KernelRunOptions,
  KernelShapeError,
  matmulReference,
} from '@tabswarm/worker-kernels'

/** The f32 product `C[m×n] = A[m×k] · B[k×n]` a CPU stand-in computes. */
export type CpuMatmul = (
  operands: { a: Float32Array; b: Float32Array; m: number; k: number; n: number },
  options: KernelRunOptions,
) => Float32Array | Promise<Float32Array>

/**
 * A `KernelRunner` for stand-in contributors: it runs f32 matmul on the CPU with `matmul`
 * (by default `matmulReference`, the right answer) and refuses every other request with
 * `KernelShapeError`, as a host without that kernel would.
 *
 * @example
 * const liar = cpuMatmulRunner(({ a, b, m, k, n }) => matmulReference(a, b, m, k, n).fill(0))
 */
export function cpuMatmulRunner(
  matmul: CpuMatmul = ({ a, b, m, k, n }) => matmulReference(a, b, m, k, n),
): KernelRunner {
  return {
    async run(request, options = {}) {
      if (request.kernel !== 'matmul') {
        throw new KernelShapeError(`The CPU stand-in runs matmul only, not ${request.kernel}.`)
      }
      if (request.dtype === 'float16') {
        throw new KernelShapeError('The CPU stand-in runs float32 matmul only.')
      }
      const { a, b, m, k, n } = request
      const c = await matmul({ a: a as Float32Array, b: b as Float32Array, m, k, n }, options)
      return c as never
    },
  }
}
