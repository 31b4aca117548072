import type { ContributorEvent } from '@tabswarm/sdk/contributor'
import type { HostInfo } from '@tabswarm/worker-kernels'
import type { RelayLinkEvent } from '../swarm/relay-link.ts'
import type { SwarmStats } from '../swarm/swarm-stats.ts'

export type PanelState = 'idle' | 'starting' | 'running' | 'stopped' | 'error'

const MAX_LOG_LINES = 200

/**
 * What a tab that can run no more kernels says, for a contributor, not a developer: the
 * why is a researcher's kernel that never ended; the what-to-do is the only thing that
 * frees the GPU it holds.
 */
export const KERNELS_WEDGED_MESSAGE =
  'A kernel did not finish and could not be stopped; reload the tab to contribute again.'

/**
 * The contributor's view of what runs and what it earns. `data-state` on <body> and the
 * element ids are stable, so tests and embedding sites can read them.
 */
export function createStatusPanel(doc: Document) {
  const el = (id: string) => doc.getElementById(id)!
  const counts = { accepted: 0, pending: 0, rejected: 0, flops: 0 }
  const inFlight = new Map<string, number>()
  /** Where each task in flight got its inputs, said in its finished line. */
  const inputsOf = new Map<string, string>()

  function log(line: string): void {
    const list = el('log')
    const item = doc.createElement('li')
    item.textContent = `${new Date().toLocaleTimeString()} ${line}`
    list.prepend(item)
    while (list.childElementCount > MAX_LOG_LINES) list.lastElementChild?.remove()
  }

  function state(state: PanelState, detail: string): void {
    doc.body.dataset.state = state
    el('status').textContent = detail
    if (state === 'error') log(`error: ${detail}`)
  }

  return {
    state,
    /** A line in the page's log, newest first. */
    log,

    /**
     * Stopped for good: kernels that never ended hold this tab's GPU (`KERNEL_WORKERS_WEDGED`).
     * The plain reason in the status line, the technical one in the log.
     */
    kernelsWedged(technical: string): void {
      log(technical)
      state('error', KERNELS_WEDGED_MESSAGE)
    },

    /**
     * Stopped on an error. A Tabswarm error's short message goes in the status line and its
     * details (the why and the fix at length) in the log, so a narrow screen shows one
     * sentence, not a page.
     */
    failed(err: unknown): void {
      const message = err instanceof Error ? err.message : String(err)
      const short = (err as { shortMessage?: unknown } | undefined)?.shortMessage
      const detailed = typeof short === 'string' && short !== message
      if (detailed) log(message)
      state('error', detailed ? short : message)
    },

    adapter(info: HostInfo): void {
      const { vendor, architecture, description } = info
      el('adapter').textContent =
        [description, vendor, architecture].filter(Boolean).join(' · ') || 'WebGPU adapter'
    },

    /** The relay connection coming and going. */
    relay(event: RelayLinkEvent): void {
      switch (event.type) {
        case 'relay-connected':
          el('relay').textContent = event.relay
          log('connected to the relay')
          break
        case 'relay-lost':
          el('relay').textContent = 'reconnecting'
          log('lost the relay')
          break
        case 'relay-retry':
          el('relay').textContent = `reconnecting in ${Math.round(event.retryInMs / 1000)} s`
          break
      }
    },

    /** Peers and blobs, refreshed from the swarm's statistics. */
    swarm(stats: SwarmStats): void {
      el('peers').textContent = `${stats.peers.direct} direct, ${stats.peers.discovered} discovered`
      const { fromPeers, fromRelay, relayFallbacks, fallbacksUnreachable, served } = stats.blobs
      el('blobs').textContent =
        `${fromPeers} from peers, ${fromRelay} from the relay (${relayFallbacks} fallback${relayFallbacks === 1 ? '' : 's'}, ${fallbacksUnreachable} with a peer unreachable), ${served} served`
    },

    event(event: ContributorEvent): void {
      switch (event.type) {
        case 'connected':
          el('relay').textContent = event.relay
          log('connected to the relay')
          break
        case 'idle':
          el('status').textContent = 'waiting for work'
          break
        case 'task-started':
          inFlight.set(event.taskId, event.flops)
          el('status').textContent = `computing ${event.taskId}`
          break
        case 'inputs-fetched':
          inputsOf.set(event.taskId, describeInputs(event))
          break
        case 'task-finished': {
          const flops = inFlight.get(event.taskId) ?? 0
          inFlight.delete(event.taskId)
          const inputs = inputsOf.get(event.taskId)
          inputsOf.delete(event.taskId)
          // `pending` passed its checks and waits for an agreeing replica; `stale` lost its
          // lease first (a cancelled job): neither is a rejection of this tab's work.
          if (event.outcome === 'accepted') {
            counts.accepted++
            counts.flops += flops
          } else if (event.outcome === 'pending') counts.pending++
          else if (event.outcome === 'rejected') counts.rejected++
          el('accepted').textContent = String(counts.accepted)
          el('pending').textContent = String(counts.pending)
          el('rejected').textContent = String(counts.rejected)
          el('gflop').textContent = `${(counts.flops / 1e9).toFixed(3)} GFLOP`
          log(
            `${event.taskId} ${event.outcome} in ${event.elapsedMs.toFixed(0)} ms${event.reason ? ` (${event.reason})` : ''}${inputs ? `; inputs ${inputs}` : ''}`,
          )
          break
        }
        case 'task-released':
          inFlight.delete(event.taskId)
          inputsOf.delete(event.taskId)
          log(`${event.taskId} handed back to the relay (${event.reason})`)
          break
        case 'task-failed':
          inFlight.delete(event.taskId)
          inputsOf.delete(event.taskId)
          log(`${event.taskId} failed: ${event.error}`)
          break
        case 'result-refused':
          inFlight.delete(event.taskId)
          inputsOf.delete(event.taskId)
          log(
            `${event.taskId}: the relay refused the result (${event.code}), moving on: ${event.reason}`,
          )
          break
        case 'relay-error':
          el('relay').textContent = `reconnecting in ${Math.round(event.retryInMs / 1000)} s`
          log(`relay: ${event.error}`)
          break
        case 'refused':
          // No retry follows a refusal for good: say so where the reconnect countdown was.
          el('relay').textContent = `refused (${event.code})`
          log(`the relay refused this tab, stopped: ${event.reason}`)
          // A tab runs the page the relay served: one the relay cannot understand is out of
          // date (the relay was updated since it loaded), and a reload fetches the new one.
          if (event.code === 'WORK_PROTOCOL_UNSUPPORTED' || event.code === 'INVALID_MESSAGE')
            log('this page does not match the relay’s version: reload the page to update it')
          break
      }
    },
  }
}

/** "1.2 MB from peers, 40 kB from the relay (1 fallback)": where a task's inputs came from. */
function describeInputs(event: Extract<ContributorEvent, { type: 'inputs-fetched' }>): string {
  const size = (bytes: number) =>
    bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.ceil(bytes / 1e3)} kB`
  const parts = [
    event.bytes.peer > 0 ? `${size(event.bytes.peer)} from peers` : '',
    event.bytes.relay > 0 ? `${size(event.bytes.relay)} from the relay` : '',
    event.bytes.cache > 0 ? `${size(event.bytes.cache)} cached` : '',
  ].filter(Boolean)
  const fallbacks =
    event.fallbacks > 0 ? ` (${event.fallbacks} fallback${event.fallbacks > 1 ? 's' : ''})` : ''
  return `${parts.join(', ') || 'none'}${fallbacks}`
}
