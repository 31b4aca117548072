import type { Capabilities } from '@tabswarm/protocol'
import type { HostInfo } from '@tabswarm/worker-kernels'

/**
 * What a contributor tells the coordinator about its GPU, from its kernel host's report:
 * the same for a tab and a headless worker, so both are matched to work the same way.
 *
 * @example
 * const host = await createNodeKernelHost()
 * const capabilities = capabilitiesOf(host.info, 'my-worker/1.0', ['matmul'])
 */
export function capabilitiesOf(
  info: HostInfo,
  agent: string,
  kernels: readonly string[] = ['matmul', 'custom'],
): Capabilities {
  return {
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
    },
    features: info.features,
    limits: { ...info.limits },
    kernels: [...kernels],
    agent: agent.slice(0, 200),
  }
}
