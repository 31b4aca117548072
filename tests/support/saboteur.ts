import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { RelayRefusalError } from '@tabswarm/protocol'
import {
  type ContributorEvent,
  type ContributorWallet,
  runContributor,
} from '@tabswarm/sdk/contributor'
import { matmulReference } from '@tabswarm/worker-kernels'
import { createLibp2p } from 'libp2p'
import { cpuMatmulRunner } from './cpu-matmul-runner.ts'

/**
 * A contributor that speaks the real protocol over a real libp2p connection and returns
 * wrong products: the right answer with one element changed, the hardest kind to notice.
 * Once banned for them, the relay refuses it and its loop ends: `refusal` says why. With a
 * `wallet`, it binds that wallet in hello, as an honest contributor would.
 */
export async function startSaboteur(
  relayAddr: string,
  options: { wallet?: ContributorWallet } = {},
) {
  const node = await createLibp2p({
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  })
  const controller = new AbortController()
  const events: ContributorEvent[] = []
  let refusal: RelayRefusalError | undefined
  const done = runContributor({
    node,
    relay: multiaddr(relayAddr),
    signal: controller.signal,
    capabilities: {
      adapter: {
        vendor: 'saboteur',
        architecture: 'cpu',
        device: '',
        description: 'test saboteur',
      },
      features: [],
      limits: {},
      kernels: ['matmul'],
      agent: 'tests/support/saboteur',
    },
    executor: cpuMatmulRunner(({ a, b, m, k, n }) => {
      const c = matmulReference(a, b, m, k, n)
      c[Math.floor(c.length / 2)]! += 0.5
      return c
    }),
    onEvent: (event) => events.push(event),
    ...(options.wallet ? { wallet: options.wallet } : {}),
  }).catch((err: unknown) => {
    if (!(err instanceof RelayRefusalError)) throw err
    refusal = err
  })
  return {
    node,
    events,
    /** Settles when the loop ends: stopped, or refused by the relay. */
    done,
    get refusal() {
      return refusal
    },
    async stop() {
      controller.abort()
      await done
      await node.stop()
    },
  }
}
