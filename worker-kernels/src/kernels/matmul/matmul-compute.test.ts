import { describe, expect, it } from 'vitest'
import { KernelLimitError, KernelShapeError } from '../../errors.ts'
import { SHADER_F16_FEATURE, selectMatmulCompute } from './matmul-compute.ts'

const withF16 = ['float32-filterable', SHADER_F16_FEATURE]
const without = ['float32-filterable']

describe('selectMatmulCompute', () => {
  it('auto multiplies float16 data in f16 only where the device has shader-f16', () => {
    expect(selectMatmulCompute('float16', withF16)).toBe('float16')
    expect(selectMatmulCompute('float16', without)).toBe('float32')
    expect(selectMatmulCompute('float32', withF16)).toBe('float32')
    expect(selectMatmulCompute('float16', withF16, 'auto')).toBe('float16')
  })

  it('float32 forces the f32 path even where f16 is available', () => {
    expect(selectMatmulCompute('float16', withF16, 'float32')).toBe('float32')
  })

  it('refuses float16 compute without the feature or for float32 data, saying why', () => {
    expect(() => selectMatmulCompute('float16', without, 'float16')).toThrow(KernelLimitError)
    expect(() => selectMatmulCompute('float16', without, 'float16')).toThrow(/shader-f16/)
    expect(() => selectMatmulCompute('float32', withF16, 'float16')).toThrow(KernelShapeError)
    expect(() => selectMatmulCompute('float16', withF16, 'bfloat16')).toThrow(
      /compute must be one of auto, float32, float16, got bfloat16/,
    )
  })
})
