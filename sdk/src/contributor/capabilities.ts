import type { Capabilities } from '@tabswarm/protocol'
import type { HostInfo } from '@tabswarm/worker-kernels'

/**
 * The kernels a contributor that can bind decoder stages (`decoderStages`) and sign its
 * results (`sign`) adds to `kernels`: a pipeline stage, and batch generation.
 */
export const DECODER_KERNELS = ['decoder-stage', 'decoder-generate'] as const

/** What the person contributing chose to allow, beyond what the device can do. */
export interface ContributorLimits {
  /**
   * Most bytes one task's buffers (inputs and outputs together) may take: the coordinator
   * leases no task above it. Also lowers the per-buffer limits to it.
   */
  memoryCapBytes?: number | undefined
}

/**
 * What a contributor tells the coordinator about its GPU, from its kernel host's report:
 * the same for a tab and a headless worker, so both are matched to work the same way. The
 * coordinator honours what it says: leave `custom` out of `kernels` to opt out of
 * researchers' custom kernels, and pass a memory cap in `limits` to get no task above it.
 *
 * @example
 * const host = await createNodeKernelHost()
 * const capabilities = capabilitiesOf(host.info, 'my-worker/1.0', ['matmul'], {
 *   memoryCapBytes: 256 * 1024 ** 2,
 * })
 */
export function capabilitiesOf(
  info: HostInfo,
  agent: string,
  kernels: readonly string[] = ['matmul', 'custom'],
  limits: ContributorLimits = {},
): Capabilities {
  const deviceLimits: Record<string, number> = { ...info.limits }
  const cap = limits.memoryCapBytes
  if (cap != null) {
    if (!Number.isSafeInteger(cap) || cap < 0)
      throw new RangeError(`memoryCapBytes must be a non-negative integer, got ${cap}`)
    // No one buffer may be larger than the whole cap, whatever the device allows.
    for (const name of ['maxBufferSize', 'maxStorageBufferBindingSize'])
      deviceLimits[name] = Math.min(deviceLimits[name] ?? cap, cap)
  }
  return {
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
    },
    features: info.features,
    limits: deviceLimits,
    kernels: [...kernels],
    agent: agent.slice(0, 200),
    ...(cap != null ? { memoryCapBytes: cap } : {}),
  }
}
