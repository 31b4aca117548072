import type { Libp2p } from '@libp2p/interface'
import type { KernelHost } from '@tabswarm/worker-kernels'
import { createNodeKernelHost } from '@tabswarm/worker-kernels/node'
import { RelayUnreachableError } from '../client/client-errors.ts'
import {
  type ContributorEvent,
  type ContributorSummary,
  type ContributorWallet,
  capabilitiesOf,
  runContributor,
} from '../contributor/index.ts'
import { createWorkerNode } from './create-worker-node.ts'
import { resolveRelay } from './resolve-relay.ts'

/** How long the first dial of the relay may take before the worker gives up. */
const RELAY_DIAL_TIMEOUT_MS = 15_000

export interface HeadlessWorkerOptions {
  /** The relay: its HTTP URL (`http://127.0.0.1:8787`) or a libp2p multiaddr. */
  relay: string
  /** Stops taking work and returns once aborted; the task in flight is abandoned to its lease. */
  signal: AbortSignal
  /** Stop after this many tasks. @default Infinity */
  maxTasks?: number
  onEvent?: (event: ContributorEvent) => void
  /** Injected for tests; by default a dawn (WebGPU in Node) host is created and disposed. */
  kernelHost?: KernelHost
  /** Injected for tests; by default a WebSockets dialer is created and stopped. */
  node?: Libp2p
  /** The wallet credited for verified work (proven to the coordinator in hello). */
  wallet?: ContributorWallet
}

export interface HeadlessWorkerSummary extends ContributorSummary {
  /** The GPU the work ran on. */
  adapter: string
  peerId: string
  /** The wallet credited, when one was given. */
  wallet?: string
}

/**
 * The headless contributor: the same kernel host the tabs use, on dawn in Node, joining the
 * swarm over libp2p and speaking the same work protocol under the same verification.
 *
 * @example
 * const stop = new AbortController()
 * process.once('SIGINT', () => stop.abort())
 * const summary = await runHeadlessWorker({ relay: 'http://127.0.0.1:8787', signal: stop.signal })
 * console.log(`${summary.accepted} of ${summary.tasks} results accepted`)
 */
export async function runHeadlessWorker(
  options: HeadlessWorkerOptions,
): Promise<HeadlessWorkerSummary> {
  const { signal } = options
  const relays = await resolveRelay(options.relay, { signal })
  const host = options.kernelHost ?? (await createNodeKernelHost())
  const node = options.node ?? (await createWorkerNode())
  try {
    // Fail fast on a relay that is not there; once connected, the loop rides out restarts.
    const dialTimeout = AbortSignal.timeout(RELAY_DIAL_TIMEOUT_MS)
    await node
      .dial(relays[0]!, { signal: AbortSignal.any([signal, dialTimeout]) })
      .catch((err: unknown) => {
        if (signal.aborted) throw signal.reason
        throw new RelayUnreachableError(relays[0]!.toString(), err)
      })
    const summary = await runContributor({
      node,
      relay: relays[0]!,
      signal,
      capabilities: capabilitiesOf(host.info, `tabswarm-worker node/${process.versions.node}`),
      executor: {
        matmul: ({ a, b, m, k, n }, { signal: taskSignal, timeoutMs }) =>
          host.matmul(
            { a, b, m, k, n },
            { signal: taskSignal, timeoutMs },
          ) as Promise<Float32Array>,
        custom: (request, { signal: taskSignal, timeoutMs }) =>
          host.custom(request, { signal: taskSignal, timeoutMs }),
      },
      ...(options.wallet ? { wallet: options.wallet } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.maxTasks != null ? { maxTasks: options.maxTasks } : {}),
    })
    return {
      ...summary,
      adapter: host.info.description || `${host.info.vendor} ${host.info.architecture}`.trim(),
      peerId: node.peerId.toString(),
      ...(options.wallet ? { wallet: options.wallet.address } : {}),
    }
  } finally {
    if (options.node == null) await node.stop()
    if (options.kernelHost == null) host.destroy()
  }
}
