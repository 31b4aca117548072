import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright'
import {
  startWorkerProcess,
  type WorkerProcess,
} from '../../tests/support/headless-worker-process.ts'
import { openSwarmTab } from '../../tests/support/swarm-tabs.ts'
import { type SimContributor, startSimContributor } from './sim-contributor.ts'

export type MemberKind = 'tab' | 'worker' | 'sim'

/** How a contributor leaves: `abrupt` drops everything (SIGKILL, a tab killed); `graceful` hands back. */
export type LeaveMode = 'abrupt' | 'graceful'

/**
 * One contributor seat in a churning swarm: it joins, leaves, and may come back as the same
 * contributor (a worker with the same wallet file, a tab in the same browser profile).
 */
export interface ChurnMember {
  kind: MemberKind
  label: string
  /** Joined and not gone since; false while it is away or still joining. */
  live: boolean
  joins: number
  /** Peer ids it had on its visits, where known (tabs, sims); workers report none. */
  peerIds: Set<string>
  join(signal: AbortSignal): Promise<void>
  /** Resolves once it is gone; `midTask` when it had a task in flight as it left. */
  leave(mode: LeaveMode): Promise<{ midTask: boolean }>
}

const JOIN_TIMEOUT_MS = 60_000

/**
 * A real `tabswarm worker` process (dawn on SwiftShader), keeping its wallet (a key file in
 * `scratchDir`, which the caller removes) across visits.
 */
export function workerMember(label: string, relayUrl: string, scratchDir: string): ChurnMember {
  const walletFile = join(scratchDir, `${label}-wallet.key`)
  let worker: WorkerProcess | undefined
  const member: ChurnMember = {
    kind: 'worker',
    label,
    live: false,
    joins: 0,
    peerIds: new Set(),
    async join() {
      worker = startWorkerProcess(relayUrl, ['--wallet-file', walletFile, '--drain', '5'])
      await worker.waitFor((e) => e.type === 'connected', JOIN_TIMEOUT_MS)
      member.live = true
      member.joins++
    },
    async leave(mode) {
      const w = worker
      if (w == null) return { midTask: false }
      const started = w.events.filter((e) => e.type === 'task-started').length
      const ended = w.events.filter((e) => e.type === 'task-finished' || e.type === 'task-failed')
      const midTask = started > ended.length
      member.live = false
      worker = undefined
      if (mode === 'abrupt') {
        w.process.kill('SIGKILL')
        await w.exited
      } else {
        await w.interrupt(15_000)
      }
      return { midTask }
    },
  }
  return member
}

/** A contributor tab in its own browser profile: a returning visitor keeps its peer id. */
export function tabMember(label: string, browser: Browser, relayUrl: string): ChurnMember {
  let context: BrowserContext | undefined
  let page: Page | undefined
  const member: ChurnMember = {
    kind: 'tab',
    label,
    live: false,
    joins: 0,
    peerIds: new Set(),
    async join() {
      context ??= await browser.newContext()
      const tab = await openSwarmTab(context, relayUrl, { timeoutMs: JOIN_TIMEOUT_MS })
      page = tab.page
      member.peerIds.add(tab.peerId)
      member.live = true
      member.joins++
    },
    async leave(mode) {
      const p = page
      if (p == null) return { midTask: false }
      member.live = false
      page = undefined
      // The status panel reads `computing <task>` while a task runs.
      const midTask = await p
        .locator('#status')
        .textContent({ timeout: 2_000 })
        .then((text) => text?.startsWith('computing') ?? false)
        .catch(() => false)
      // `abrupt`: the tab is closed without its unload handlers, as when a browser is killed.
      await p.close({ runBeforeUnload: mode === 'graceful' })
      return { midTask }
    },
  }
  return member
}

/** A simulated CPU contributor over real libp2p (volume); a new peer id on each visit. */
export function simMember(label: string, relayAddr: string, taskMs: () => number): ChurnMember {
  let sim: SimContributor | undefined
  const member: ChurnMember = {
    kind: 'sim',
    label,
    live: false,
    joins: 0,
    peerIds: new Set(),
    async join() {
      sim = await startSimContributor({ relayAddr, taskMs, label })
      member.peerIds.add(sim.peerId)
      member.live = true
      member.joins++
    },
    async leave(mode) {
      const s = sim
      if (s == null) return { midTask: false }
      member.live = false
      sim = undefined
      const midTask = s.busy()
      if (mode === 'abrupt') await s.vanish()
      else await s.stop()
      return { midTask }
    },
  }
  return member
}
