import type { HostInfo, HostLimits } from './kernel-types.ts'

/** The limits a kernel host requests at their adapter maximum and reports. */
export const HOST_LIMIT_NAMES = [
  'maxComputeWorkgroupStorageSize',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
] as const satisfies readonly (keyof HostLimits & keyof GPUSupportedLimits)[]

/** Copy the host limits out of a `GPUSupportedLimits` (whose fields are prototype getters). */
export function pickHostLimits(limits: GPUSupportedLimits): HostLimits {
  const picked: Partial<HostLimits> = {}
  for (const name of HOST_LIMIT_NAMES) picked[name] = limits[name]
  return picked as HostLimits
}

/**
 * Describe an adapter and the device opened on it as plain data. `GPUAdapterInfo` and
 * `GPUSupportedLimits` expose getters on their prototypes, which structured clone and
 * `JSON.stringify` drop, so every field is copied explicitly.
 */
export function describeHost(adapter: GPUAdapter, device: GPUDevice): HostInfo {
  const info = adapter.info
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    features: [...adapter.features].sort(),
    deviceFeatures: [...device.features].sort(),
    limits: pickHostLimits(device.limits),
  }
}
