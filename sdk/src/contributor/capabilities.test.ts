import { CapabilitiesSchema } from '@tabswarm/protocol'
import type { HostInfo } from '@tabswarm/worker-kernels'
import { describe, expect, it } from 'vitest'
import { capabilitiesOf } from './capabilities.ts'

const MiB = 1024 ** 2

const info: HostInfo = {
  vendor: 'v',
  architecture: 'a',
  device: 'd',
  description: 'test GPU',
  features: ['shader-f16'],
  deviceFeatures: ['shader-f16'],
  limits: {
    maxComputeWorkgroupStorageSize: 16_384,
    maxStorageBufferBindingSize: 1024 * MiB,
    maxBufferSize: 1024 * MiB,
    maxComputeInvocationsPerWorkgroup: 256,
    maxComputeWorkgroupsPerDimension: 65_535,
    maxStorageBuffersPerShaderStage: 8,
    maxUniformBufferBindingSize: 65_536,
    maxComputeWorkgroupSizeX: 256,
    maxComputeWorkgroupSizeY: 256,
    maxComputeWorkgroupSizeZ: 64,
  },
}

describe('capabilitiesOf', () => {
  it('reports the device as it is, with both kernels, when nothing is restricted', () => {
    const caps = capabilitiesOf(info, 'test')
    expect(caps.kernels).toEqual(['matmul', 'custom'])
    expect(caps.limits.maxBufferSize).toBe(1024 * MiB)
    expect(caps).not.toHaveProperty('memoryCapBytes')
    expect(CapabilitiesSchema.parse(caps)).toEqual(caps)
  })

  it('says a memory cap and an opt-out from custom kernels the way the coordinator honours them', () => {
    const caps = capabilitiesOf(info, 'test', ['matmul'], { memoryCapBytes: 256 * MiB })
    expect(caps.kernels).toEqual(['matmul'])
    expect(caps.memoryCapBytes).toBe(256 * MiB)
    // No single buffer above the cap either; limits below it stay as they are.
    expect(caps.limits.maxBufferSize).toBe(256 * MiB)
    expect(caps.limits.maxStorageBufferBindingSize).toBe(256 * MiB)
    expect(caps.limits.maxUniformBufferBindingSize).toBe(65_536)
    expect(CapabilitiesSchema.parse(caps)).toEqual(caps)
    expect(() => capabilitiesOf(info, 'test', undefined, { memoryCapBytes: -1 })).toThrow(
      /memoryCapBytes must be a non-negative integer, got -1/,
    )
  })
})
