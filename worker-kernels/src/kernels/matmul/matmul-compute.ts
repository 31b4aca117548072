/**
 * Which arithmetic a matmul runs in. Every adapter can run `float32` compute (f16
 * operands unpacked from u32 pairs with core built-ins). Where the device has the
 * optional `shader-f16` feature, float16 requests run on the `float16` path instead:
 * WGSL with `enable f16;` that reads A and B as `array<f16>`, stages them as f16 in
 * workgroup memory and multiplies in f16, accumulating the products in f32.
 *
 * Why f16 products with an f32 sum, not an f16 sum: an f16 sum of k products is only
 * bounded by γₖ at u = 2⁻¹¹, which is past 1 (no bound at all) from k = 2048, shorter
 * than a transformer's hidden size, and its partial sums overflow at 65504. Rounding
 * each product to f16 costs one 2⁻¹¹ relative error per term whatever k is, while the
 * bandwidth half of the gain (f16 loads, half the workgroup memory, no unpacking) stays.
 */
import { KernelLimitError, KernelShapeError } from '../../errors.ts'
import type { FloatDtype } from '../common/float-dtype.ts'

/** Arithmetic of a matmul: `float32` everywhere, `float16` products where `shader-f16` is on. */
export type MatmulCompute = 'float32' | 'float16'

/** What `MatmulRequest.compute` accepts: a format, or `auto` for the best the device has. */
export type MatmulComputeOption = MatmulCompute | 'auto'

const OPTIONS: readonly MatmulComputeOption[] = ['auto', 'float32', 'float16']

/** The WebGPU feature the `float16` path needs enabled on the device. */
export const SHADER_F16_FEATURE = 'shader-f16'

/**
 * Resolve the arithmetic of a matmul of `dtype` storage on a device with
 * `deviceFeatures` (`HostInfo.deviceFeatures`). `auto` picks `float16` for float16 data
 * on a device with `shader-f16`, else `float32`. Callers can run this on `host.info`
 * to learn, and report, what a call will compute in.
 *
 * Throws `KernelShapeError` for an unknown option or `float16` compute of float32 data,
 * and `KernelLimitError` for `float16` compute on a device without `shader-f16`.
 *
 * @example
 * const compute = selectMatmulCompute('float16', host.info.deviceFeatures) // 'float16' | 'float32'
 */
export function selectMatmulCompute(
  dtype: FloatDtype,
  deviceFeatures: readonly string[],
  option: unknown = 'auto',
): MatmulCompute {
  if (typeof option !== 'string' || !OPTIONS.includes(option as MatmulComputeOption)) {
    throw new KernelShapeError(
      `compute must be one of ${OPTIONS.join(', ')}, got ${String(option)}.`,
    )
  }
  const hasF16 = deviceFeatures.includes(SHADER_F16_FEATURE)
  if (option === 'auto') return dtype === 'float16' && hasF16 ? 'float16' : 'float32'
  if (option === 'float16') {
    if (dtype !== 'float16') {
      throw new KernelShapeError(
        'compute float16 needs dtype float16 (float32 data would lose precision).',
      )
    }
    if (!hasF16) {
      throw new KernelLimitError(
        'compute float16 needs the shader-f16 feature, which this device lacks.',
        {
          details: "Use compute 'auto' or 'float32': float16 data then runs with f32 arithmetic.",
        },
      )
    }
  }
  return option as MatmulCompute
}
