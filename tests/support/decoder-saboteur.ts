import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { RelayRefusalError } from '@tabswarm/protocol'
import {
  type ContributorEvent,
  corruptingDecoderStages,
  DECODER_KERNELS,
  runContributor,
} from '@tabswarm/sdk/contributor'
import { createReferenceDecoderStage } from '@tabswarm/worker-kernels'
import { createLibp2p } from 'libp2p'

/**
 * A contributor that runs decoder tasks on the CPU reference and corrupts one value of
 * every stage's activations (`corruptingDecoderStages`), over the real protocol and a real
 * libp2p connection, signing its results with its own key as an honest one would: its bad
 * stage is attributable to it. `refusal` says why the relay refused it, once it did.
 *
 * @example
 * const saboteur = await startDecoderSaboteur(relay.addr)
 * // … run a pipeline job; expect its tokens to equal the reference's and the saboteur unpaid
 * await saboteur.stop()
 */
export async function startDecoderSaboteur(relayAddr: string, options: { delta?: number } = {}) {
  const privateKey = await generateKeyPair('Ed25519')
  const node = await createLibp2p({
    privateKey,
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
        description: 'test decoder saboteur',
      },
      features: [],
      limits: {},
      kernels: [...DECODER_KERNELS],
      agent: 'tests/support/decoder-saboteur',
    },
    executor: { run: () => Promise.reject(new Error('the saboteur runs decoder stages only')) },
    gflops: false,
    decoderStages: corruptingDecoderStages(
      (_runner, stageOptions) => createReferenceDecoderStage(stageOptions),
      options.delta,
    ),
    sign: (bytes) => privateKey.sign(bytes),
    onEvent: (event) => events.push(event),
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
