import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { webSockets } from '@libp2p/websockets'
import type { Multiaddr } from '@multiformats/multiaddr'
import { type ContributorEvent, runContributor } from '@tabswarm/sdk/contributor'
import { createLibp2p } from 'libp2p'
import { cpuMatmulRunner } from '../../tests/support/cpu-matmul-runner.ts'

export interface SimulatedContributor {
  node: Libp2p
  /** Resolves when the contributor loop has returned. */
  done: Promise<unknown>
  stop(): Promise<void>
}

/**
 * A contributor over a real libp2p connection, through the real contributor loop, that
 * computes matmul tiles with the CPU reference instead of a GPU. The caller dials
 * `relay` first (to pace connections); the loop reuses that connection.
 */
export async function createSimulatedContributor(options: {
  relay: Multiaddr
  onEvent: (event: ContributorEvent) => void
}): Promise<{ node: Libp2p; start(): SimulatedContributor }> {
  const node = await createLibp2p({
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  })
  return {
    node,
    start() {
      const controller = new AbortController()
      const done = runContributor({
        node,
        relay: options.relay,
        signal: controller.signal,
        gflops: 1,
        maxBackoffMs: 5_000,
        capabilities: {
          adapter: {
            vendor: 'cpu',
            architecture: 'reference',
            device: '',
            description: 'load test',
          },
          features: [],
          limits: {},
          kernels: ['matmul'],
          agent: 'bench/reliability/load',
        },
        executor: cpuMatmulRunner(),
        onEvent: options.onEvent,
      }).catch((err: unknown) => err)
      return {
        node,
        done,
        async stop() {
          controller.abort()
          await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 10_000))])
          await node.stop()
        },
      }
    },
  }
}
