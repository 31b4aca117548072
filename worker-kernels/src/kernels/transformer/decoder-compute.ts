/**
 * Which arithmetic the fused `decoder-layers` kernel's projections run in. The rule is
 * matmul's (`selectMatmulCompute`), for the same reasons: on a device with `shader-f16`,
 * float16 weights are read natively (`array<f16>`) and each product of a linear pass
 * (q/k/v, attention output, MLP up/gate/down, LM head) is rounded to f16, the sum kept in
 * f32. The activation entering a product is rounded to f16 first, so a term carries two
 * 2⁻¹¹ roundings instead of matmul's one; a product beyond f16's range (65504) becomes
 * non-finite, which every activation comparison rejects rather than passes.
 *
 * Everything else (embedding, norms, rotary, attention's scores and softmax, GELU/SwiGLU,
 * residual adds, the KV cache) stays f32 whatever this says: those are a small share of
 * the work and the numerically delicate part (a softmax or a norm in f16 costs far more
 * accuracy than it saves time).
 *
 * A stage (`createGpuDecoderStage`) and a verifier (the relay picking the tolerance for a
 * contributor) both call this on the same facts, the device's features and the weights'
 * format, so the bound a result is judged by is the arithmetic that produced it.
 */
import type { FloatDtype } from '../common/float-dtype.ts'
import {
  type MatmulCompute,
  type MatmulComputeOption,
  selectMatmulCompute,
} from '../matmul/matmul-compute.ts'

/** Arithmetic of a decoder step's projections: `float16` products only with `shader-f16`. */
export type DecoderCompute = MatmulCompute

/** What `DecoderLayersRequest.compute` accepts: a format, or `auto` for the best the device has. */
export type DecoderComputeOption = MatmulComputeOption

/**
 * Resolve the arithmetic of a `decoder-layers` call with weights stored as `dtype` on a
 * device with `deviceFeatures` (`HostInfo.deviceFeatures`): `auto` gives `float16` for
 * float16 weights on a `shader-f16` device, else `float32`. Throws `KernelShapeError` for
 * an unknown option or `float16` with float32 weights, `KernelLimitError` for `float16`
 * on a device without `shader-f16`.
 *
 * @example
 * const compute = selectDecoderCompute('float16', host.info.deviceFeatures) // what `auto` runs
 */
export function selectDecoderCompute(
  dtype: FloatDtype,
  deviceFeatures: readonly string[],
  option: unknown = 'auto',
): DecoderCompute {
  return selectMatmulCompute(dtype, deviceFeatures, option)
}
