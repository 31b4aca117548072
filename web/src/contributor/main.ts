import { createClient } from '@tabswarm/sdk'
import { type ContributorEvent, capabilitiesOf, runContributor } from '@tabswarm/sdk/contributor'
import { loadTabIdentity } from '../identity/tab-identity.ts'
import { spawnKernelWorker } from '../kernels/spawn-kernel-worker.ts'
import {
  createPageHook,
  type TabswarmPageHook,
  type TabswarmTestHooks,
  TEST_HOOKS_PARAM,
} from '../swarm/page-hook.ts'
import { lookUpSwarm } from '../swarm/swarm-directory.ts'
import { joinSwarm, type TabSwarm } from '../swarm/tab-swarm.ts'
import { indexedDbStore } from '../wallet/indexed-db-store.ts'
import { relaySettlesOnChain } from '../wallet/relay-settles.ts'
import { siteFromQuery } from '../wallet/site-param.ts'
import { startPageWallet } from './page-wallet.ts'
import { createStatusPanel } from './status-panel.ts'
import { swarmInputSource } from './swarm-input-source.ts'
import { createWalletPanel } from './wallet-panel.ts'

declare global {
  /**
   * This tab's swarm membership, for embedding sites, operators and tests (see
   * `page-hook.ts`); the test hooks only with `?tabswarm-test`.
   */
  var tabswarm: TabswarmPageHook & Partial<TabswarmTestHooks>
}

const panel = createStatusPanel(document)
const toggle = document.querySelector<HTMLButtonElement>('#toggle')!
let running: AbortController | undefined
let swarm: TabSwarm | undefined
globalThis.tabswarm = createPageHook(() => swarm, {
  testHooks: new URLSearchParams(location.search).has(TEST_HOOKS_PARAM),
})

// The wallet credited for this tab's work: this browser's key, or (on the button, or with
// `?wallet=injected`) the visitor's browser wallet; `?site=0x…` names the site whose widget
// opened the page, credited its share.
const walletPanel = createWalletPanel(document)
const { site, error: siteError } = siteFromQuery(location.search)
walletPanel.siteError(siteError)
walletPanel.site(site)
const wallet = startPageWallet({
  panel: walletPanel,
  store: indexedDbStore(),
  // The relay that served this page answers its API too.
  client: createClient({ relay: new URL('./', location.href).href }),
  relaySettles: relaySettlesOnChain,
  site,
  injected: new URLSearchParams(location.search).get('wallet') === 'injected',
  log: (line) => panel.log(line),
  contributing: () => running != null,
  // The wallet and its figures last as long as the page, across Stop and Start.
  signal: new AbortController().signal,
})

async function contribute(signal: AbortSignal): Promise<void> {
  panel.state('starting', 'looking for the GPU and joining the swarm')
  /**
   * Aborted, with the `KernelWorkersWedgedError`, once this page has left as many kernel
   * workers running endless kernels as it may: the tab stops contributing until reloaded.
   */
  const wedged = new AbortController()
  const kernels = spawnKernelWorker({
    // The task in flight fails with DeviceLostError (and is reassigned); the worker gets a
    // new device for the next one, so this is worth a line in the console, not a stop.
    onDeviceLost: (details) =>
      console.warn(`tabswarm: GPU device lost (${details.reason}): ${details.message}`),
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
      const identity = await loadTabIdentity({ signal: membership.signal })
      const joined = await joinSwarm({
        identity,
        lookUp: lookUpSwarm,
        signal: membership.signal,
        onEvent: (event) => panel.relay(event),
      })
      swarm = joined
      const refresh = setInterval(() => panel.swarm(joined.stats()), 1_000)
      void joined.stopped.finally(() => {
        clearInterval(refresh)
        if (swarm === joined) swarm = undefined
      })
      return joined
    })()
    const [info, joined, contributorWallet] = await Promise.all([
      // Bounded by the client (the worker's acquisition deadline plus a grace period), so a
      // wedged driver fails with the worker's own GpuUnavailableError, not a page timer's.
      kernels.client.init({ signal }),
      joining,
      // This browser's key (bounded by a storage timeout), or with `?wallet=injected` the
      // browser wallet once the visitor approved it: the first hello already binds it.
      wallet.contributorWallet(),
    ])
    panel.adapter(info)
    panel.state('running', 'waiting for work')

    signal.throwIfAborted()
    signal.removeEventListener('abort', leaveNow)
    const summary = await runContributor({
      node: joined.node,
      relay: joined.relay,
      // Inputs from the tab's cache, the peers that hold them, then the relay; what the tab
      // fetched it keeps, serves to other tabs and announces with each lease request.
      inputs: swarmInputSource(joined),
      signal,
      capabilities: capabilitiesOf(info, navigator.userAgent),
      // The client cancels a task's call in the worker when its signal aborts, and gives up
      // on a worker that does not answer past the task's deadline; terminating the worker
      // (above) rejects whatever is still pending. Researchers' WGSL is validated against
      // this adapter's limits by the kernel host first.
      executor: kernels.client,
      onEvent: (event: ContributorEvent) => {
        panel.event(event)
        // What the tab just earned shows at once, not at the next periodic read.
        if (event.type === 'task-finished' && event.outcome === 'accepted') wallet.refresh()
      },
      wallet: contributorWallet,
      drain: wedged.signal,
    })
    wedged.signal.throwIfAborted()
    panel.state('stopped', `stopped after ${summary.tasks} tasks`)
  } catch (err) {
    // Whatever failed on the way (a call that timed out, init), the cap is the reason to give.
    if (wedged.signal.aborted) throw wedged.signal.reason
    throw err
  } finally {
    membership.abort()
  }
}

function start(): void {
  const run = new AbortController()
  running = run
  toggle.textContent = 'Stop'
  contribute(run.signal).catch((err: unknown) => {
    const stoppedByUser = run.signal.aborted
    // Whatever failed (the GPU, the join), nothing of this run may go on: a swarm node left
    // running would keep the tab's identity slot, and Start would come back as another peer.
    run.abort(err)
    if (stoppedByUser || running !== run) return
    running = undefined
    if ((err as { code?: unknown }).code === 'KERNEL_WORKERS_WEDGED') {
      // Start would fail the same way: only a reload frees the GPU the endless kernels hold.
      panel.kernelsWedged((err as Error).message)
      toggle.textContent = 'Reload the tab to contribute again'
      toggle.disabled = true
      return
    }
    panel.failed(err)
    toggle.textContent = 'Start contributing'
  })
}

toggle.addEventListener('click', () => {
  if (running == null) return start()
  running.abort()
  running = undefined
  toggle.textContent = 'Start contributing'
  panel.state('stopped', 'stopped')
})

// `?autostart` lets a kiosk, a test or an embedding site start without the click.
if (new URLSearchParams(location.search).has('autostart')) start()
