import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { RelayCandidate } from '@tabswarm/protocol'
import { createGpuDecoderStage, type KernelHost } from '@tabswarm/worker-kernels'
import { createKernelHostProcess } from '@tabswarm/worker-kernels/node'
import { RelayUnreachableError } from '../client/client-errors.ts'
import { HEADLESS_INPUT_CACHE_BYTES, RELAY_DIAL_TIMEOUT_MS } from '../constants.ts'
import {
  type ContributorEvent,
  type ContributorSummary,
  type ContributorWallet,
  capabilitiesOf,
  createRelayRoster,
  DECODER_KERNELS,
  type DecoderStageFactory,
  failoverWorkChannel,
  type InputSource,
  lruInputSource,
  relayInputSource,
  runContributor,
} from '../contributor/index.ts'
import { createWorkerNode } from './create-worker-node.ts'
import { resolveRelays } from './resolve-relay.ts'
import type { WorkerPeerKey } from './worker-peer-key.ts'

export interface HeadlessWorkerOptions {
  /**
   * The relay: its HTTP URL (`http://127.0.0.1:8787`), a libp2p multiaddr, several of
   * either (the relays of one cluster), addresses already resolved with `resolveRelay`, or
   * relays resolved with `resolveRelays`. A URL's `GET /v1/swarm` adds the other relays of
   * its cluster. The first relay that answers is used; when it goes away and does not come
   * back (`RELAY_MISSES_BEFORE_FAILOVER` failed requests in a row), the worker moves to the
   * next one of the list and goes on working there.
   */
  relay: string | readonly string[] | Multiaddr[] | RelayCandidate[]
  /**
   * Stops at once: the task in flight is aborted and its lease handed back to the relay,
   * which leases it again straight away.
   */
  signal: AbortSignal
  /**
   * Stops taking work: the task in flight is finished and reported first (at most
   * `drainTimeoutMs`, then it is handed back as for `signal`). During start-up, before
   * there is any work to finish, it stops the worker as `signal` does.
   */
  drain?: AbortSignal | undefined
  /** How long a drain waits for the task in flight. @default DRAIN_TIMEOUT_MS (60 s) */
  drainTimeoutMs?: number | undefined
  /** Stop after this many tasks, failed kernel runs included. @default Infinity */
  maxTasks?: number | undefined
  onEvent?: ((event: ContributorEvent) => void) | undefined
  /**
   * Injected for tests; by default a dawn (WebGPU in Node) host is created in a child
   * process (`createKernelHostProcess`) and disposed: a kernel that runs past its deadline
   * gets that process killed and replaced, so it cannot wedge the worker's GPU for the
   * tasks after it.
   */
  kernelHost?: KernelHost | undefined
  /** Injected for tests; by default a WebSockets dialer is created and stopped. */
  node?: Libp2p | undefined
  /**
   * Where task inputs come from. Injected for tests; by default the relay's blob protocol
   * over the node's connection, behind an LRU of `HEADLESS_INPUT_CACHE_BYTES` (64 MiB).
   */
  inputs?: InputSource | undefined
  /** Bytes of recent inputs kept by the default input source. @default HEADLESS_INPUT_CACHE_BYTES */
  inputCacheBytes?: number | undefined
  /**
   * The wallet credited for verified work (proven to the coordinator in hello). A function
   * is called only once the relay has answered, so a relay that is not there leaves no
   * key file behind (`() => loadWorkerWallet()` creates one on first use).
   */
  wallet?: ContributorWallet | (() => Promise<ContributorWallet>) | undefined
  /**
   * The worker's libp2p identity (`loadWorkerPeerKey`): kept across runs, its file written
   * once the relay has answered. @default a new peer id each run
   */
  peerKey?: WorkerPeerKey | undefined
  /**
   * Binds decoder stages for inference jobs: with it and a key to sign their results with
   * (`peerKey`, or the key of the node the worker creates) the worker advertises the decoder
   * kernels; `false` runs none. @default the GPU stage (`createGpuDecoderStage`) on the
   * kernel host, told the adapter's features
   */
  decoderStages?: DecoderStageFactory | false | undefined
  /** Called once connected and the GPU is set up, before the first task: what it runs on. */
  onStart?: ((info: HeadlessWorkerStart) => void) | undefined
}

/** What a worker runs as, told at start (`onStart`) and again in its summary. */
export interface HeadlessWorkerStart {
  /** The GPU the work runs on. */
  adapter: string
  peerId: string
  /** The relay address the worker connected to. */
  relay: string
}

export interface HeadlessWorkerSummary extends ContributorSummary, HeadlessWorkerStart {
  /** The wallet credited, when one was given. */
  wallet?: string
}

/** The URLs and multiaddrs the worker was given as text, which can be asked again. */
function relayNames(relay: HeadlessWorkerOptions['relay']): readonly string[] | undefined {
  if (typeof relay === 'string') return [relay]
  return relay.length > 0 && relay.every((r) => typeof r === 'string')
    ? (relay as readonly string[])
    : undefined
}

/**
 * The relays `relay` names: strings resolved (URLs asked for their cluster), addresses
 * grouped by the peer they name (one relay's several listeners stay one relay).
 */
async function relayCandidates(
  relay: HeadlessWorkerOptions['relay'],
  signal: AbortSignal,
): Promise<RelayCandidate[]> {
  if (typeof relay === 'string') return resolveRelays(relay, { signal })
  if (relay.length === 0) return []
  if (relay.every((r) => typeof r === 'string')) return resolveRelays(relay as string[], { signal })
  if (relay.every((r) => typeof r === 'object' && 'peerId' in r))
    return [...relay] as RelayCandidate[]
  const candidates: RelayCandidate[] = []
  for (const ma of relay as Multiaddr[]) {
    const peerId = ma.getComponents().findLast((c) => c.name === 'p2p')?.value ?? ma.toString()
    const known = candidates.find((c) => c.peerId === peerId)
    if (known) known.multiaddrs.push(ma)
    else candidates.push({ peerId, multiaddrs: [ma] })
  }
  return candidates
}

/**
 * Dials each relay's addresses in turn, relay after relay, and returns the first that
 * answers; relays that answer on none are a `RelayUnreachableError` naming the last failure.
 */
async function dialFirst(node: Libp2p, candidates: RelayCandidate[], signal: AbortSignal) {
  let lastError: unknown
  const relays = candidates.flatMap((c) => c.multiaddrs)
  for (const relay of relays) {
    try {
      await node.dial(relay, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(RELAY_DIAL_TIMEOUT_MS)]),
      })
      return relay
    } catch (err) {
      if (signal.aborted) throw signal.reason
      lastError = err
    }
  }
  throw new RelayUnreachableError(relays.map(String).join(' or '), lastError)
}

/**
 * The headless contributor: the same kernel host the tabs use, on dawn in Node, joining the
 * swarm over libp2p and speaking the same work protocol under the same verification.
 *
 * Task inputs come from the relay's blob protocol over the worker's one connection, each
 * checked against its sha-256, with a small LRU of recent ones (a matmul job's tasks share
 * B and bands of A). Headless workers do not serve peers: their node listens nowhere and
 * answers no blob streams, so they announce no `holds`. Nor do they fetch from the lease's
 * `providers`: tabs are reachable over WebRTC only, which a Node worker does not speak;
 * every input comes from the relay.
 *
 * @example
 * const stop = new AbortController()
 * const drain = new AbortController()
 * process.once('SIGINT', () => {
 *   drain.abort() // finish the task in flight...
 *   process.once('SIGINT', () => stop.abort()) // ...or hand it back on a second Ctrl-C
 * })
 * const summary = await runHeadlessWorker({
 *   relay: 'http://127.0.0.1:8787',
 *   signal: stop.signal,
 *   drain: drain.signal,
 *   wallet: async () => (await loadWorkerWallet()).account,
 * })
 * console.log(`${summary.accepted} of ${summary.tasks} results accepted`)
 */
export async function runHeadlessWorker(
  options: HeadlessWorkerOptions,
): Promise<HeadlessWorkerSummary> {
  const { signal, drain } = options
  // Until connected there is no task to finish, so a drain (the first Ctrl-C) stops start-up
  // at once rather than after every address has been dialled.
  const startup = drain ? AbortSignal.any([signal, drain]) : signal
  const relays = await relayCandidates(options.relay, startup)
  if (relays.length === 0) throw new RelayUnreachableError('the relay', new Error('no addresses'))
  const roster = createRelayRoster(relays)
  const named = relayNames(options.relay)
  let refreshing = false
  const refreshRelays = () => {
    if (named == null || refreshing || signal.aborted) return
    refreshing = true
    resolveRelays(named, { signal })
      .then((fresh) => roster.update(fresh))
      // Nothing answered: the list stays as it is, and the next turn asks again.
      .catch(() => {})
      .finally(() => {
        refreshing = false
      })
  }
  // The key the node is created with signs decoder results, so the relay can check them
  // against the peer id; an injected node keeps its key to itself unless `peerKey` names it.
  const privateKey =
    options.peerKey?.privateKey ??
    (options.node == null ? await generateKeyPair('Ed25519') : undefined)
  const node = options.node ?? (await createWorkerNode(privateKey ? { privateKey } : {}))
  const sign = privateKey != null ? (bytes: Uint8Array) => privateKey.sign(bytes) : undefined
  let host: KernelHost | undefined
  try {
    // Fail fast on a relay that is not there, before the GPU is set up; once connected, the
    // loop rides out restarts.
    const relay = await dialFirst(node, relays, startup)
    roster.use(relay)
    await options.peerKey?.keep()
    host = options.kernelHost ?? (await createKernelHostProcess())
    const info = host.info
    const decoderStages: DecoderStageFactory | undefined =
      sign == null || options.decoderStages === false
        ? undefined
        : (options.decoderStages ??
          ((runner, stageOptions) =>
            createGpuDecoderStage(runner, { ...stageOptions, features: info.deviceFeatures })))
    const start: HeadlessWorkerStart = {
      adapter: host.info.description || `${host.info.vendor} ${host.info.architecture}`.trim(),
      peerId: node.peerId.toString(),
      relay: relay.toString(),
    }
    options.onStart?.(start)
    const wallet = typeof options.wallet === 'function' ? await options.wallet() : options.wallet
    const summary = await runContributor({
      // To the relay in use, moving on to the next of the cluster when it keeps missing.
      channel: failoverWorkChannel(node, roster, {
        onMiss: (miss) => {
          // A whole turn of the list missed: ask the directories again, the cluster may
          // have moved or grown since start.
          if (miss.failedOver && miss.to === roster.candidates[0]) refreshRelays()
        },
      }),
      signal,
      drain,
      drainTimeoutMs: options.drainTimeoutMs,
      capabilities: capabilitiesOf(
        host.info,
        `tabswarm-worker node/${process.versions.node}`,
        decoderStages != null ? ['matmul', 'custom', ...DECODER_KERNELS] : ['matmul', 'custom'],
      ),
      decoderStages,
      sign,
      executor: host,
      inputs:
        options.inputs ??
        lruInputSource(
          relayInputSource(node, () => roster.address),
          {
            capacityBytes: options.inputCacheBytes ?? HEADLESS_INPUT_CACHE_BYTES,
          },
        ),
      wallet,
      onEvent: options.onEvent,
      maxTasks: options.maxTasks,
    })
    return {
      ...summary,
      ...start,
      ...(wallet ? { wallet: wallet.address } : {}),
    }
  } finally {
    if (options.node == null) await node.stop()
    if (options.kernelHost == null) host?.destroy()
  }
}
