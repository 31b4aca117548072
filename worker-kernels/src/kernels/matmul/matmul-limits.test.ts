import { describe, expect, it } from 'vitest'
import { KernelLimitError } from '../../errors.ts'
import type { HostLimits } from '../../host/kernel-types.ts'
import { assertMatmulFitsLimits } from './matmul-limits.ts'

const limits: HostLimits = {
  maxComputeWorkgroupStorageSize: 16384,
  maxStorageBufferBindingSize: 1024,
  maxBufferSize: 2048,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 8,
  maxUniformBufferBindingSize: 65536,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupSizeZ: 64,
}

describe('assertMatmulFitsLimits', () => {
  it('accepts operands up to the binding size', () => {
    expect(() => assertMatmulFitsLimits({ m: 16, k: 16, n: 16 }, limits)).not.toThrow()
  })

  it('names the operand, its size and the storage binding limit', () => {
    expect(() => assertMatmulFitsLimits({ m: 1, k: 257, n: 1 }, limits)).toThrow(
      /A needs 1028 bytes .* above maxStorageBufferBindingSize 1024/,
    )
    expect(() => assertMatmulFitsLimits({ m: 1, k: 1, n: 300 }, limits)).toThrow(KernelLimitError)
    expect(() => assertMatmulFitsLimits({ m: 300, k: 1, n: 1 }, limits)).toThrow(/^A needs/)
    expect(() => assertMatmulFitsLimits({ m: 20, k: 1, n: 20 }, limits)).toThrow(/^C needs 1600/)
  })

  it('checks the split-K scratch, splits copies of C, only where k is split', () => {
    // C alone (8*8*4 = 256 bytes) fits; four partial copies of it fill the binding exactly.
    expect(() => assertMatmulFitsLimits({ m: 8, k: 16, n: 8, splits: 4 }, limits)).not.toThrow()
    expect(() => assertMatmulFitsLimits({ m: 8, k: 16, n: 8, splits: 5 }, limits)).toThrow(
      /^The split-K scratch \(partial sums\) needs 1280 bytes \(splits\*m\*n\*4 = 5\*8\*8\*4\), above maxStorageBufferBindingSize 1024/,
    )
    expect(() =>
      assertMatmulFitsLimits({ m: 4, k: 16, n: 4, batch: 2, splits: 9 }, limits),
    ).toThrow(/splits\*2\*m\*n\*4 = 9\*2\*4\*4\*4/)
  })

  it('checks maxBufferSize where it is the smaller limit', () => {
    const small = { ...limits, maxStorageBufferBindingSize: 4096, maxBufferSize: 1024 }
    expect(() => assertMatmulFitsLimits({ m: 1, k: 1, n: 257 }, small)).toThrow(
      /B needs 1028 bytes .* above maxBufferSize 1024/,
    )
  })
})
