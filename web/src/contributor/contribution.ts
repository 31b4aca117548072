import {
  type ContributorEvent,
  type ContributorSummary,
  type ContributorWallet,
  capabilitiesOf,
  corruptingDecoderStages,
  DECODER_KERNELS,
  type DecoderStageFactory,
  runContributor,
} from '@tabswarm/sdk/contributor'
import { createGpuDecoderStage, type HostInfo } from '@tabswarm/worker-kernels'
import { indexedDbWeightStorage } from '../blobs/indexed-db-weight-storage.ts'
import { openWeightCache, type WeightCache, type WeightCacheStats } from '../blobs/weight-cache.ts'
import {
  type ContributionControls,
  controlledCapabilities,
  controlledRunner,
} from '../controls/contribution-controls.ts'
import { loadTabIdentity } from '../identity/tab-identity.ts'
import { spawnKernelWorker } from '../kernels/spawn-kernel-worker.ts'
import type { RelayLinkEvent } from '../swarm/relay-link.ts'
import { lookUpSwarm } from '../swarm/swarm-directory.ts'
import type { SwarmStats } from '../swarm/swarm-stats.ts'
import { joinSwarm, type TabSwarm } from '../swarm/tab-swarm.ts'
import { swarmInputSource } from './swarm-input-source.ts'
import type { Saboteur } from './test-saboteur.ts'

/** What a contribution reports as it goes: the page's panels and the widget both listen. */
export interface ContributionHooks {
  /** Starting (GPU and swarm join under way), then running (waiting for or doing work). */
  state(state: 'starting' | 'running', detail: string): void
  /** The tab's link to the relay: connected, lost, retrying. */
  relay(event: RelayLinkEvent): void
  /** The swarm's counters, every second while joined. */
  swarm(stats: SwarmStats): void
  /** The GPU adapter the kernel worker got. */
  adapter(info: HostInfo): void
  /**
   * The GPU was reset under the tab (driver update, crash, power saving): the task in flight
   * fails and is leased to another tab, and the next task runs on a new device. Recovery is
   * automatic; this says it happened, so the page can say so plainly.
   */
  gpuReset?(details: { reason: string; message: string }): void
  /** The contributor loop's events: leases, inputs, results, earnings. */
  event(event: ContributorEvent): void
  /** The persistent weight cache's figures, every second while joined. */
  weightCache?(stats: WeightCacheStats): void
  /** The swarm membership, once joined. */
  joined?(swarm: TabSwarm): void
  /** That membership has ended. */
  left?(swarm: TabSwarm): void
}

export interface ContributionOptions {
  /** The wallet credited, asked for once the GPU and the swarm are up. */
  wallet: () => Promise<ContributorWallet | undefined>
  hooks: ContributionHooks
  /** Stops at once: the task in flight is handed back, the tab leaves the swarm. */
  signal: AbortSignal
  /**
   * The contributor's controls (`web/src/controls/`): the GPU share and memory cap of each
   * kernel call, the kernels and buffer limits announced to the coordinator (read before
   * each lease, so a change applies to the next task), and the gates (paused, hidden, not
   * idle, on battery) awaited before each lease. Without them the tab works at full share
   * whenever it is started.
   */
  controls?: ContributionControls | undefined
  /**
   * The relay's base URL, asked where to dial (`<relay>/v1/swarm`).
   * @default './', the relay that served this page; the widget passes its `relay` attribute
   */
  relay?: string | URL
  /**
   * Binds decoder stages for inference jobs, whose results the tab signs with its libp2p
   * key. @default the GPU stage (`createGpuDecoderStage`) on the kernel worker, told the
   * adapter's features
   */
  decoderStages?: DecoderStageFactory | undefined
  /**
   * FOR TESTS ONLY (`?tabswarm-test&saboteur=activations`, see `test-saboteur.ts`): corrupt
   * one value of every decoder stage's activations, for a test to show the relay catches it.
   */
  saboteur?: Saboteur | undefined
  /**
   * Bytes of weights kept across visits in IndexedDB (`openWeightCache`).
   * @default DEFAULT_WEIGHT_CACHE_BYTES (1 GiB)
   */
  weightCacheBytes?: number | undefined
  /** The weight cache to use instead of opening IndexedDB's (tests; a page sharing one). */
  weightCache?: WeightCache | Promise<WeightCache> | undefined
}

/**
 * One run of this tab's contribution, as the page's Start and the widget's consent begin
 * it: a kernel worker on the GPU, the swarm joined meanwhile, then the contributor loop
 * until `signal` aborts. Resolves with the loop's summary; rejects with what stopped it (the
 * GPU, the join, kernels that never ended: `KERNEL_WORKERS_WEDGED`).
 */
export async function contribute(options: ContributionOptions): Promise<ContributorSummary> {
  const { hooks, signal } = options
  hooks.state('starting', 'looking for the GPU and joining the swarm')
  /**
   * Aborted, with the `KernelWorkersWedgedError`, once this page has left as many kernel
   * workers running endless kernels as it may: the tab stops contributing until reloaded.
   */
  const wedged = new AbortController()
  const kernels = spawnKernelWorker({
    // The task in flight fails with DeviceLostError (and is reassigned); the worker gets a
    // new device for the next one, so this is worth a line in the console, not a stop.
    onDeviceLost: (details) => {
      console.warn(`tabswarm: GPU device lost (${details.reason}): ${details.message}`)
      hooks.gpuReset?.({ reason: String(details.reason), message: details.message })
    },
    // A researcher's kernel ran past its deadline: its task failed with KERNEL_TIMEOUT and the
    // worker (with the device still busy running it) was replaced for the next task.
    onRespawn: (reason) => console.warn(`tabswarm: kernel worker restarted: ${reason}`),
    // Each abandoned worker keeps its endless kernel, and a core of the GPU process on a
    // software adapter, until the tab closes: past the cap this tab takes no more work. A
    // drain, not a stop: the task in flight (the kernel that tripped the cap) is still reported
    // as failed, so the relay counts it against its job; a lease granted after is handed back.
    onWedged: (err) => wedged.abort(err),
  })
  // Earlier runs on this page (Stop, then Start) already reached the cap.
  if (kernels.wedged) throw kernels.wedged
  signal.addEventListener('abort', () => kernels.terminate(), { once: true })
  // The swarm outlives `signal` by as long as the contributor loop needs to hand the task in
  // flight back to the relay: stopped before the loop starts, the tab leaves at once;
  // after, once the loop is done.
  const membership = new AbortController()
  const leaveNow = () => membership.abort(signal.reason)
  signal.addEventListener('abort', leaveNow, { once: true })
  try {
    // The swarm join (identity, relay, discovery) runs while the GPU starts: neither waits on the other.
    const joining = (async () => {
      const [identity, weights] = await Promise.all([
        loadTabIdentity({ signal: membership.signal }),
        options.weightCache ??
          openWeightCache({
            storage: indexedDbWeightStorage(),
            ...(options.weightCacheBytes != null
              ? { capacityBytes: options.weightCacheBytes }
              : {}),
          }),
      ])
      const joined = await joinSwarm({
        identity,
        lookUp: (lookUpSignal) => lookUpSwarm(lookUpSignal, options.relay),
        signal: membership.signal,
        onEvent: (event) => hooks.relay(event),
      })
      hooks.joined?.(joined)
      const refresh = setInterval(() => {
        hooks.swarm(joined.stats())
        hooks.weightCache?.(weights.stats())
      }, 1_000)
      void joined.stopped.finally(() => {
        clearInterval(refresh)
        hooks.left?.(joined)
      })
      return { joined, identity, weights }
    })()
    const [info, { joined, identity, weights }, contributorWallet] = await Promise.all([
      // Bounded by the client (the worker's acquisition deadline plus a grace period), so a
      // wedged driver fails with the worker's own GpuUnavailableError, not a page timer's.
      kernels.client.init({ signal }),
      joining,
      // This browser's key (bounded by a storage timeout), or with `?wallet=injected` the
      // browser wallet once the visitor approved it: the first hello already binds it.
      options.wallet(),
    ])
    hooks.adapter(info)
    hooks.state('running', 'waiting for work')

    signal.throwIfAborted()
    signal.removeEventListener('abort', leaveNow)
    const { controls } = options
    const honestStages: DecoderStageFactory =
      options.decoderStages ??
      ((runner, stageOptions) =>
        createGpuDecoderStage(runner, { ...stageOptions, features: info.deviceFeatures }))
    const decoderStages =
      options.saboteur === 'activations' ? corruptingDecoderStages(honestStages) : honestStages
    const capabilities = capabilitiesOf(info, navigator.userAgent, [
      'matmul',
      'custom',
      ...DECODER_KERNELS,
    ])
    const summary = await runContributor({
      node: joined.node,
      // Read at every request: the relay link may have moved to another relay of the cluster.
      relay: () => joined.relay,
      // Inputs from the tab's cache, the peers that hold them, then the relay; what the tab
      // fetched it keeps, serves to other tabs and announces with each lease request.
      // Weights from the tab's IndexedDB cache before peers and the relay, so a returning
      // tab binds its stage without fetching them again; its activations are served from here.
      inputs: swarmInputSource(joined, { weights }),
      decoderStages,
      // The key the tab's node runs with: the relay checks decoder results against its peer id.
      sign: (bytes: Uint8Array) => identity.privateKey.sign(bytes),
      signal,
      capabilities: controls
        ? () => controlledCapabilities(capabilities, controls.current())
        : capabilities,
      // The client cancels a task's call in the worker when its signal aborts, and gives up
      // on a worker that does not answer past the task's deadline; terminating the worker
      // (above) rejects whatever is still pending. Researchers' WGSL is validated against
      // this adapter's limits by the kernel host first.
      // Under controls, each call runs at the chosen GPU share and within the memory cap.
      executor: controls
        ? controlledRunner(kernels.client, () => controls.current())
        : kernels.client,
      onEvent: (event: ContributorEvent) => hooks.event(event),
      wallet: contributorWallet,
      drain: wedged.signal,
      ...(controls ? { beforeLease: (gate: AbortSignal) => controls.whenOpen(gate) } : {}),
    })
    wedged.signal.throwIfAborted()
    return summary
  } catch (err) {
    // Whatever failed on the way (a call that timed out, init), the cap is the reason to give.
    if (wedged.signal.aborted) throw wedged.signal.reason
    throw err
  } finally {
    membership.abort()
  }
}
