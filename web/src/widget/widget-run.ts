import {
  bindWallet,
  type ContributorEvent,
  type ContributorWallet,
} from '@tabswarm/sdk/contributor'
import type { Hex } from 'viem'
import { contribute } from '../contributor/contribution.ts'
import { indexedDbStore } from '../wallet/indexed-db-store.ts'
import { exportLocalKey, loadOrCreateLocalKey } from '../wallet/local-key.ts'
import { parseSiteAddress } from '../wallet/site-param.ts'
import { createRelayStatus } from './relay-status.ts'

/**
 * The widget's lazy part: everything heavy (libp2p, the kernel worker and its kernels, viem)
 * is reached from here, and the loader (`widget.ts`) imports this module only after the
 * visitor's click on Start. Nothing here touches the element's DOM: the loader is told what
 * happens through `WidgetReport` and draws it.
 */

/** Longest wait for the browser's storage to hand over (or create) the local key. */
const LOCAL_KEY_TIMEOUT_MS = 10_000

/** What a widget run tells the element. */
export interface WidgetReport {
  /** A plain-words status line: starting, running, relay lost. */
  status(line: string): void
  /**
   * The wallet credited: this browser's key for this site (`undefined` when storage failed:
   * the tab is then credited to its peer id), and what was wrong with the `site` attribute.
   */
  wallet(address: Hex | undefined, problem?: string): void
  /** Results paid so far in this run (accepted at once, or pending and agreed since). */
  accepted(count: number): void
}

export interface WidgetRunOptions {
  /** The relay's base URL, the element's `relay` attribute resolved. */
  relay: string
  /** The element's `site` attribute: checked as the page checks `?site=`. */
  site: string | null
  /** Pause, Stop or a hidden tab: the task in flight is handed back and the tab leaves. */
  signal: AbortSignal
  report: WidgetReport
}

/**
 * One run of the widget's contribution: this browser's local key (created on the first run;
 * in a third-party widget the browser keeps it for the embedding site only), bound with the
 * site's address so the site gets its share, and `contribute()` against the relay until
 * `signal` aborts. Resolves when stopped; rejects with what stopped it otherwise.
 */
export async function runWidget(options: WidgetRunOptions): Promise<void> {
  const { report, signal } = options
  const { site, error } = parseSiteAddress(options.site?.trim())
  if (error != null) console.warn(`tabswarm widget: ${error}`)
  let accepted = 0
  const relayStatus = createRelayStatus((line) => report.status(line))
  try {
    await contribute({
      relay: options.relay,
      signal,
      wallet: () => localWallet(site, error, report, signal),
      hooks: {
        state: (state, detail) =>
          report.status(state === 'running' ? 'Running: waiting for work' : `Starting: ${detail}`),
        relay: (event) => relayStatus.update(event),
        swarm: () => {},
        adapter: () => {},
        event: (event: ContributorEvent) => {
          if (event.type === 'task-started') report.status('Running: computing a task')
          if (
            (event.type === 'task-finished' || event.type === 'task-verdict') &&
            event.outcome === 'accepted'
          )
            report.accepted(++accepted)
        },
      },
    })
  } finally {
    // Stopped or failed: the widget's own line says so, and no countdown writes over it.
    relayStatus.stop()
  }
}

/** This browser's key as the contributor's wallet, bound with the site; none when storage fails. */
async function localWallet(
  site: Hex | undefined,
  problem: string | undefined,
  report: WidgetReport,
  signal: AbortSignal,
): Promise<ContributorWallet | undefined> {
  try {
    const account = await Promise.race([
      loadOrCreateLocalKey(indexedDbStore()),
      new Promise<never>((_, reject) => {
        const timeout = AbortSignal.any([signal, AbortSignal.timeout(LOCAL_KEY_TIMEOUT_MS)])
        timeout.addEventListener('abort', () =>
          reject(
            new Error(
              `the browser's storage did not answer within ${LOCAL_KEY_TIMEOUT_MS / 1000} s`,
            ),
          ),
        )
      }),
    ])
    report.wallet(account.address, problem)
    return bindWallet(account, { site })
  } catch (err) {
    report.wallet(
      undefined,
      `this browser's key could not be loaded (${(err as Error).message}); the work is credited to this tab only`,
    )
    return undefined
  }
}

/**
 * This browser's key for this site, for the visitor to keep or import elsewhere (the
 * contributor page's Import, a wallet): the explicit step that links the widget's credits to
 * the visitor's own wallet. Whoever has it owns the credits.
 */
export function exportWidgetKey(): Promise<Hex> {
  return exportLocalKey(indexedDbStore())
}
