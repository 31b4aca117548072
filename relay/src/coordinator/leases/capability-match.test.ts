import type { Capabilities, CustomJobSpec } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { customRequirement, matmulRequirement, mismatch } from './capability-match.ts'

const device = (over: Partial<Capabilities> = {}): Capabilities => ({
  adapter: { vendor: 't', architecture: 't', device: '', description: '' },
  features: [],
  limits: {},
  kernels: ['matmul', 'custom'],
  agent: 'test',
  ...over,
})

const blob = 'a'.repeat(64)

function customSpec(
  over: Partial<CustomJobSpec['tasks'][number]> = {},
  f16 = false,
): CustomJobSpec {
  const dtype = f16 ? ('float16' as const) : ('float32' as const)
  return {
    kernel: 'custom',
    program: {
      wgsl: 'fn main() {}',
      inputs: [
        { name: 'x', dtype },
        { name: 'w', dtype: 'float32' },
      ],
      outputs: [{ name: 'y', dtype }],
    },
    tasks: [
      {
        inputs: [
          { blob, dtype, shape: [1024] },
          { blob, dtype: 'float32', shape: [4096, 1024] },
        ],
        outputs: [{ shape: [1024], dtype }],
        workgroups: [4, 1, 1],
        ...over,
      },
    ],
  }
}

describe('capability match', () => {
  it('matmul: needs the matmul kernel and room for its largest band, in binding and buffer limits', () => {
    // 256-edge tiles over k = 65536: each band is 256·65536·4 = 64 MiB.
    const need = matmulRequirement(256, 4096, 65_536, 4096)
    expect(need).toMatchObject({ largestBinding: 64 * 1024 ** 2, storageBindings: 3 })
    expect(mismatch(device(), need)).toBeUndefined()
    expect(mismatch(device({ kernels: ['custom'] }), need)).toBe('does not run matmul kernels')
    expect(
      mismatch(device({ limits: { maxStorageBufferBindingSize: 32 * 1024 ** 2 } }), need),
    ).toMatch(/^maxStorageBufferBindingSize 33554432 < 67108864 needed/)
    expect(mismatch(device({ limits: { maxBufferSize: 60 * 1024 ** 2 } }), need)).toMatch(
      /^maxBufferSize/,
    )
    expect(mismatch(device({ limits: { maxStorageBuffersPerShaderStage: 2 } }), need)).toMatch(
      /^maxStorageBuffersPerShaderStage 2 < 3/,
    )
    // A memory cap bounds the task's buffers together: both bands and the output tile.
    expect(need.taskBytes).toBe(4 * (2 * 256 * 65_536 + 256 * 256))
    expect(mismatch(device({ memoryCapBytes: need.taskBytes - 1 }), need)).toBe(
      `memory cap ${need.taskBytes - 1} bytes < ${need.taskBytes} bytes one task needs`,
    )
    expect(mismatch(device({ memoryCapBytes: need.taskBytes }), need)).toBeUndefined()
    // A small matrix's tile is only as big as the matrix.
    expect(matmulRequirement(2048, 8, 8, 8).largestBinding).toBe(256)
    expect(mismatch(undefined, need)).toBe('no capabilities reported')
  })

  it('custom: needs the custom kernel, shader-f16 for f16 bindings, and its buffers, bindings, uniform and dispatch', () => {
    const need = customRequirement(customSpec())
    expect(need).toMatchObject({ largestBinding: 16 * 1024 ** 2, storageBindings: 3 })
    expect(mismatch(device(), need)).toBeUndefined()
    expect(mismatch(device({ kernels: ['matmul'] }), need)).toBe('does not run custom kernels')
    expect(
      mismatch(device({ limits: { maxStorageBufferBindingSize: 8 * 1024 ** 2 } }), need),
    ).toMatch(/^maxStorageBufferBindingSize/)
    expect(mismatch(device({ limits: { maxStorageBuffersPerShaderStage: 2 } }), need)).toMatch(
      /^maxStorageBuffersPerShaderStage 2 < 3/,
    )
    const f16 = customRequirement(customSpec({}, true))
    expect(mismatch(device(), f16)).toBe('lacks the shader-f16 feature')
    expect(mismatch(device({ features: ['shader-f16'] }), f16)).toBeUndefined()
    const wide = customRequirement(customSpec({ workgroups: [40_000, 1, 1] }))
    expect(
      mismatch(device({ limits: { maxComputeWorkgroupsPerDimension: 32_768 } }), wide),
    ).toMatch(/^maxComputeWorkgroupsPerDimension 32768 < 40000/)
    // 3 KiB of params: more than a device with a 2 KiB uniform limit binds.
    const params = customRequirement(customSpec({ params: 'A'.repeat(4096) }))
    expect(params.uniformBytes).toBe(3072)
    expect(mismatch(device({ limits: { maxUniformBufferBindingSize: 2048 } }), params)).toMatch(
      /^maxUniformBufferBindingSize 2048 < 3072/,
    )
    // A limit not reported is WebGPU's guaranteed default (128 MiB per storage binding), not unlimited.
    const huge = customRequirement(
      customSpec({ outputs: [{ shape: [64 * 1024 ** 2], dtype: 'float32' }] }),
    )
    expect(mismatch(device(), huge)).toMatch(/^maxStorageBufferBindingSize 134217728 < 268435456/)
  })
})
