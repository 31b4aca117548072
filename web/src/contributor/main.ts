import { createClient } from '@tabswarm/sdk'
import { indexedDbWeightStorage } from '../blobs/indexed-db-weight-storage.ts'
import { openWeightCache, type WeightCache } from '../blobs/weight-cache.ts'
import { startControls } from '../controls/start-controls.ts'
import {
  createPageHook,
  type TabswarmPageHook,
  type TabswarmTestHooks,
  TEST_HOOKS_PARAM,
} from '../swarm/page-hook.ts'
import type { TabSwarm } from '../swarm/tab-swarm.ts'
import { indexedDbStore } from '../wallet/indexed-db-store.ts'
import { relaySettlesOnChain } from '../wallet/relay-settles.ts'
import { siteFromQuery } from '../wallet/site-param.ts'
import { contribute } from './contribution.ts'
import { startPageWallet } from './page-wallet.ts'
import { createStatusPanel } from './status-panel.ts'
import { createTasksToday } from './tasks-today.ts'
import { saboteurForPage } from './test-saboteur.ts'
import { createWalletPanel } from './wallet-panel.ts'
import { checkWebGpu } from './webgpu-support.ts'

declare global {
  /**
   * This tab's swarm membership, for embedding sites, operators and tests (see
   * `page-hook.ts`); the test hooks only with `?tabswarm-test`.
   */
  var tabswarm: TabswarmPageHook & Partial<TabswarmTestHooks>
}

const panel = createStatusPanel(document, {
  tasksToday: createTasksToday({ store: indexedDbStore() }),
})
const toggle = document.querySelector<HTMLButtonElement>('#toggle')!
let running: AbortController | undefined
let swarm: TabSwarm | undefined
// The weights this browser kept from earlier visits, opened once for the page: its figures
// count across Stop and Start, and show on the panel and the page hook.
let weightCache: WeightCache | undefined
const weightCacheOpened = openWeightCache({ storage: indexedDbWeightStorage() }).then((opened) => {
  weightCache = opened
  panel.weightCache(opened.stats())
  return opened
})
globalThis.tabswarm = createPageHook(() => swarm, {
  testHooks: new URLSearchParams(location.search).has(TEST_HOOKS_PARAM),
  weightCache: () => weightCache?.stats(),
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

// The contributor's controls (GPU share, pause, when to work, memory cap, custom kernels),
// remembered in IndexedDB and applied to every run.
const controls = startControls({
  container: document.querySelector<HTMLElement>('#controls')!,
  onStorageError: (err) => panel.log(`controls: not remembered (${err.message})`),
  signal: new AbortController().signal,
})

/** One run: Start to Stop (or to what stopped it), reported on the page's panels. */
async function contributeHere(run: AbortController): Promise<void> {
  const summary = await contribute({
    wallet: () => wallet.contributorWallet(),
    signal: run.signal,
    controls,
    weightCache: await weightCacheOpened,
    // Test-only, and only with the test hooks: `?tabswarm-test&saboteur=activations`.
    saboteur: saboteurForPage(new URLSearchParams(location.search), TEST_HOOKS_PARAM),
    hooks: {
      state: (state, detail) => panel.state(state, detail),
      relay: (event) => panel.relay(event),
      swarm: (stats) => panel.swarm(stats),
      weightCache: (stats) => panel.weightCache(stats),
      adapter: (info) => panel.adapter(info),
      gpuReset: (details) => panel.gpuReset(details),
      event: (event) => {
        panel.event(event)
        // What the tab just earned shows at once, not at the next periodic read.
        const earned =
          (event.type === 'task-finished' && event.outcome !== 'stale') ||
          (event.type === 'task-verdict' && event.outcome === 'accepted')
        if (earned) wallet.refresh()
      },
      joined: (joined) => {
        swarm = joined
      },
      left: (joined) => {
        if (swarm === joined) swarm = undefined
      },
    },
  })
  // The loop ended by itself (drained): Start may begin another run.
  if (running === run) {
    running = undefined
    toggle.textContent = 'Start contributing'
  }
  // A run stopped with Stop ends after the click: a Start since then owns the panel.
  if (running == null) panel.state('stopped', `stopped after ${summary.tasks} tasks`)
}

function start(): void {
  const run = new AbortController()
  running = run
  toggle.textContent = 'Stop'
  contributeHere(run).catch((err: unknown) => {
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

// Whether this browser can run the kernels at all is asked before anything else runs: a
// visitor whose browser cannot help is told so, and what would work, before any click.
// Start (disabled in the HTML) stays disabled until the answer, and for good when it is no.
const support = await checkWebGpu({ gpu: navigator.gpu })
if (support.supported) {
  toggle.disabled = false
  // `?autostart` lets a kiosk, a test or an embedding site start without the click.
  if (new URLSearchParams(location.search).has('autostart')) start()
} else panel.unsupported(support.explanation)
