import type { ContributorEvent } from '@tabswarm/sdk/contributor'
import type { HostInfo } from '@tabswarm/worker-kernels'
import type { WeightCacheStats } from '../blobs/weight-cache.ts'
import { failoverTarget, type RelayLinkEvent } from '../swarm/relay-link.ts'
import { createRetryCountdown } from '../swarm/retry-countdown.ts'
import type { SwarmStats } from '../swarm/swarm-stats.ts'
import { describeRunningJob } from './running-job.ts'
import { createTaskCounts } from './task-counts.ts'
import type { TasksToday } from './tasks-today.ts'

/** `unsupported`: this browser has no usable WebGPU; Start is disabled and nothing runs. */
export type PanelState = 'idle' | 'unsupported' | 'starting' | 'running' | 'stopped' | 'error'

const MAX_LOG_LINES = 200

/**
 * What a tab that can run no more kernels says, for a contributor, not a developer: the
 * why is a researcher's kernel that never ended; the what-to-do is the only thing that
 * frees the GPU it holds.
 */
export const KERNELS_WEDGED_MESSAGE =
  'A kernel did not finish and could not be stopped; reload the tab to contribute again.'

/** What the fields say when no run is under way. */
const AT_REST = {
  relay: 'not connected',
  peers: 'none (not contributing)',
  job: 'none yet',
  kernel: '–',
  progress: '–',
} as const

export interface StatusPanelOptions {
  /** Where "tasks done today" is kept; without it the count starts at 0 on each load. */
  tasksToday?: TasksToday
}

/**
 * The contributor's view of what runs and what it earns: plain words in the page's body, the
 * technical fields (adapter, relay, peers, blobs, log) under its "Technical details".
 * `data-state` on <body> and the element ids are stable, so tests and embedding sites can
 * read them.
 */
export function createStatusPanel(doc: Document, options: StatusPanelOptions = {}) {
  const el = (id: string) => doc.getElementById(id)!
  const set = (id: string, text: string) => {
    el(id).textContent = text
  }
  const counts = createTaskCounts()
  /** Where each task in flight got its inputs, said in its finished line. */
  const inputsOf = new Map<string, string>()
  /**
   * Whether a run is under way: the relay link and the swarm's refresh may report once more
   * while a stopped run winds down, and must not put connected values back after Stop.
   */
  let live = false
  /** A refusal for good stays in the Relay field after the run stops: it says why. */
  let refused = false
  /** The relay link was lost during this run: its next connection is a reconnection. */
  let relayLost = false
  /**
   * The relay this tab is moving to after its own kept missing, until it connects: the
   * countdown before that dial says where it goes, not only "reconnecting".
   */
  let movingTo: string | undefined
  let today = 0

  function log(line: string): void {
    const list = el('log')
    const item = doc.createElement('li')
    item.textContent = `${new Date().toLocaleTimeString()} ${line}`
    list.prepend(item)
    while (list.childElementCount > MAX_LOG_LINES) list.lastElementChild?.remove()
  }

  /** The wait before the relay's next dial, counting down where it is shown. */
  const retry = createRetryCountdown()

  /** The relay line and notice through a reconnection's wait, a second at a time. */
  function showReconnect(ms: number): void {
    retry.start(ms, (left) => {
      set('relay', left > 0 ? `reconnecting in ${left} s` : 'reconnecting')
      notice(
        left > 0 ? `Lost the relay; reconnecting in ${left} s.` : 'Lost the relay; reconnecting.',
      )
    })
  }

  /** A plain sentence about trouble the tab is recovering from by itself; empty clears it. */
  function notice(text: string): void {
    const box = el('notice')
    box.textContent = text
    box.hidden = text === ''
  }

  function state(state: PanelState, detail: string): void {
    doc.body.dataset.state = state
    set('status', detail)
    if (state === 'starting') {
      live = true
      refused = false
      relayLost = false
      movingTo = undefined
    }
    if (state === 'error') log(`error: ${detail}`)
    if (state === 'stopped' || state === 'error') atRest()
  }

  /** The run is over: nothing shows as connected or in progress any more. */
  function atRest(): void {
    live = false
    retry.stop()
    movingTo = undefined
    notice('')
    if (!refused) set('relay', AT_REST.relay)
    set('peers', AT_REST.peers)
    set('job', AT_REST.job)
    set('kernel', AT_REST.kernel)
    set('progress', AT_REST.progress)
    el('progress-bar').hidden = true
  }

  function showCounts(): void {
    const { accepted, pending, rejected, flops } = counts.get()
    set('accepted', String(accepted))
    set('pending', String(pending))
    set('rejected', String(rejected))
    set('gflop', `${(flops / 1e9).toFixed(3)} GFLOP`)
  }

  function showToday(): void {
    set('today', String(today))
  }

  /** Tasks this browser completed today (accepted or awaiting agreement), kept by day. */
  function countToday(): void {
    today++
    showToday()
    options.tasksToday?.add().then(
      (stored) => {
        // Other tabs of this browser count too: show the stored figure when it is ahead.
        today = Math.max(today, stored)
        showToday()
      },
      (err: unknown) => log(`tasks done today: ${describe(err)}`),
    )
  }

  options.tasksToday?.read().then(
    (stored) => {
      today = Math.max(today, stored)
      showToday()
    },
    (err: unknown) => log(`tasks done today: ${describe(err)}`),
  )

  return {
    state,
    /** A line in the page's log, newest first. */
    log,

    /**
     * This browser cannot run the kernels: said before any click, in plain words, with what
     * would work; Start stays disabled.
     */
    unsupported(explanation: string): void {
      doc.body.dataset.state = 'unsupported'
      set('status', 'this browser cannot contribute')
      set('unsupported-text', explanation)
      el('unsupported').hidden = false
      // Nothing will run here: the empty counters would only suggest otherwise.
      el('running').hidden = true
      set('adapter', 'none: WebGPU is not available')
    },

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
      const message = describe(err)
      const short = (err as { shortMessage?: unknown } | undefined)?.shortMessage
      const detailed = typeof short === 'string' && short !== message
      if (detailed) log(message)
      state('error', detailed ? short : message)
    },

    adapter(info: HostInfo): void {
      const { vendor, architecture, description } = info
      set(
        'adapter',
        [description, vendor, architecture].filter(Boolean).join(' · ') || 'WebGPU adapter',
      )
    },

    /** The GPU was reset; the worker gets a new device for the next task by itself. */
    gpuReset(details: { reason: string; message: string }): void {
      if (!live) return
      notice('The GPU was reset; recovering. The task it was running goes to another computer.')
      log(`GPU device lost (${details.reason}): ${details.message}`)
    },

    /** The relay connection coming and going. */
    relay(event: RelayLinkEvent): void {
      if (!live) return
      // A countdown belongs to the wait it was started for; every other event ends it.
      retry.stop()
      switch (event.type) {
        case 'relay-connected':
          set('relay', event.relay)
          notice('')
          log(
            movingTo
              ? `connected to relay ${movingTo}, the swarm's next relay`
              : relayLost
                ? 'reconnected to the relay'
                : 'connected to the relay',
          )
          relayLost = false
          movingTo = undefined
          break
        case 'relay-lost':
          relayLost = true
          set('relay', 'reconnecting')
          notice('Lost the relay; reconnecting.')
          log('lost the relay')
          break
        case 'relay-failover':
          movingTo = failoverTarget(event)
          set('relay', `moving to ${movingTo}`)
          notice(`The relay is gone; moving to relay ${movingTo} of the swarm.`)
          log(`relay ${event.from} keeps missing; moving to relay ${movingTo} (${event.to})`)
          break
        case 'relay-retry': {
          const seconds = Math.max(1, Math.ceil(event.retryInMs / 1000))
          // The wait that follows a failover is before the new relay's dial: say where it goes.
          const to = movingTo
          if (to)
            retry.start(event.retryInMs, (left) => {
              set(
                'relay',
                left > 0 ? `moving to ${to} in ${left} s` : `moving to ${to}: connecting`,
              )
              notice(
                `The relay is gone; moving to relay ${to} of the swarm, ${left > 0 ? `connecting in ${left} s` : 'connecting'}.`,
              )
            })
          else showReconnect(event.retryInMs)
          log(
            `could not reach the relay (${event.error || 'no reason given'}); retrying in ${seconds} s`,
          )
          break
        }
      }
    },

    /** Peers and blobs, refreshed from the swarm's statistics. */
    swarm(stats: SwarmStats): void {
      if (!live) return
      set('peers', `${stats.peers.direct} direct, ${stats.peers.discovered} discovered`)
      const { fromPeers, fromRelay, relayFallbacks, fallbacksUnreachable, served } = stats.blobs
      set(
        'blobs',
        `${fromPeers} from peers, ${fromRelay} from the relay (${relayFallbacks} fallback${relayFallbacks === 1 ? '' : 's'}, ${fallbacksUnreachable} with a peer unreachable), ${served} served`,
      )
    },

    /**
     * The persistent weight cache: how many lookups it answered since the page loaded (a
     * returning tab's weights come from it, not from peers or the relay), and how full it is.
     */
    weightCache(stats: WeightCacheStats): void {
      set('weight-cache', describeWeightCache(stats))
    },

    event(event: ContributorEvent): void {
      if (counts.apply(event)) showCounts()
      switch (event.type) {
        case 'connected':
          // The relay link already said "connected to the relay": this is its work queue.
          retry.stop()
          set('status', 'connected; asking for work')
          notice('')
          break
        case 'idle':
          set('status', 'waiting for work')
          break
        case 'task-started': {
          const job = describeRunningJob(event)
          set('status', `computing a task of ${job.name}`)
          set('job', job.name)
          set('kernel', job.kernel)
          set('progress', job.progress ?? 'not reported by the relay')
          const bar = el('progress-bar') as HTMLProgressElement
          bar.hidden = job.fraction === undefined
          if (job.fraction !== undefined) bar.value = job.fraction
          break
        }
        case 'inputs-fetched':
          inputsOf.set(event.taskId, describeInputs(event))
          break
        case 'task-finished': {
          const inputs = inputsOf.get(event.taskId)
          inputsOf.delete(event.taskId)
          // A finished task means the GPU works again after a reset.
          notice('')
          if (event.outcome === 'accepted' || event.outcome === 'pending') countToday()
          log(
            `${event.taskId} ${event.outcome} in ${event.elapsedMs.toFixed(0)} ms${event.reason ? ` (${event.reason})` : ''}${inputs ? `; inputs ${inputs}` : ''}`,
          )
          break
        }
        case 'task-verdict':
          log(`${event.taskId} ${event.outcome} by agreement of its replicas`)
          break
        case 'task-released':
          inputsOf.delete(event.taskId)
          log(`${event.taskId} handed back to the relay (${event.reason})`)
          break
        case 'task-failed':
          inputsOf.delete(event.taskId)
          log(`${event.taskId} failed: ${event.error}`)
          break
        case 'result-refused':
          inputsOf.delete(event.taskId)
          log(
            `${event.taskId}: the relay refused the result (${event.code}), moving on: ${event.reason}`,
          )
          break
        case 'relay-error': {
          const seconds = Math.max(1, Math.ceil(event.retryInMs / 1000))
          // During a failover the relay link's line (where it goes, when) stays up.
          if (!movingTo) showReconnect(event.retryInMs)
          log(`relay: ${event.error || 'no reason given'}; retrying in ${seconds} s`)
          break
        }
        case 'refused':
          // No retry follows a refusal for good: say so where the reconnect countdown was.
          refused = true
          retry.stop()
          set('relay', `refused (${event.code})`)
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

export type StatusPanel = ReturnType<typeof createStatusPanel>

/** An error's message, or what else was thrown, never "undefined". */
function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name
  return err === undefined ? 'unknown error' : String(err)
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

const MIB = 1024 * 1024

/** "3 of 4 lookups hit (75%), 12.0 of 1024 MiB held", or why there is nothing to say yet. */
export function describeWeightCache(stats: WeightCacheStats): string {
  const lookups = stats.hits + stats.misses
  const held = `${(stats.bytesUsed / MIB).toFixed(1)} of ${Math.round(stats.capacityBytes / MIB)} MiB held`
  if (lookups === 0) return `no weights asked for yet, ${held}`
  const corrupt = stats.corrupt > 0 ? `, ${stats.corrupt} corrupt dropped` : ''
  return `${stats.hits} of ${lookups} lookups hit (${Math.round(stats.hitRate * 100)}%), ${held}${corrupt}`
}
