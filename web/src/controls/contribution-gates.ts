import type { ContributorControls } from './controls.ts'
import type { BatterySource, GateSource, IdleSource, VisibilitySource } from './gate-sources.ts'

/** Why the tab takes no work now, in the words the page shows after "paused: ". */
export type GateReason =
  | 'you paused it'
  | 'the tab is hidden'
  | 'you are not idle'
  | 'idle detection is not allowed yet'
  | 'on battery'

/** The gates' inputs: the live controls and what they watch. */
export interface ContributionGatesOptions {
  controls: GateSource<ContributorControls>
  visibility: VisibilitySource
  idle: Pick<IdleSource, 'current' | 'subscribe'>
  battery: Pick<BatterySource, 'current' | 'subscribe'>
}

/**
 * Every reason to hold off work (paused, hidden, not idle, on battery) composed into one
 * condition: the contributor loop awaits `whenOpen` before each lease request, and the
 * panel shows `reason()`. Closing a gate never interrupts the task in flight.
 */
export interface ContributionGates {
  /** Why no work may be taken now, or `undefined` when it may. */
  reason(): GateReason | undefined
  /** Calls `listener` whenever the reason may have changed; returns the unsubscribe. */
  subscribe(listener: () => void): () => void
  /** Resolves once work may be taken (at once if it may now); rejects when `signal` aborts. */
  whenOpen(signal: AbortSignal): Promise<void>
  /** Stops watching the sources. */
  close(): void
}

/** Composes the gates. Sources are read when asked, so a change is never missed between events. */
export function createContributionGates(options: ContributionGatesOptions): ContributionGates {
  const { controls, visibility, idle, battery } = options
  const listeners = new Set<() => void>()
  const notify = () => {
    for (const listener of [...listeners]) listener()
  }
  const unsubscribe = [controls, visibility, idle, battery].map((source) =>
    source.subscribe(notify),
  )

  const reason = (): GateReason | undefined => {
    const c = controls.current()
    if (c.paused) return 'you paused it'
    if (c.visibleOnly && visibility.current() === 'hidden') return 'the tab is hidden'
    if (c.idleOnly) {
      const state = idle.current()
      if (state === 'unknown') return 'idle detection is not allowed yet'
      if (state !== 'idle') return 'you are not idle'
    }
    if (c.stopOnBattery && battery.current() === 'discharging') return 'on battery'
    return undefined
  }

  const subscribe = (listener: () => void) => {
    listeners.add(listener)
    return () => void listeners.delete(listener)
  }

  return {
    reason,
    subscribe,
    whenOpen(signal) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (signal.aborted) return finish(() => reject(signal.reason))
          if (reason() === undefined) finish(resolve)
        }
        const finish = (settle: () => void) => {
          stop()
          signal.removeEventListener('abort', check)
          settle()
        }
        const stop = subscribe(check)
        signal.addEventListener('abort', check, { once: true })
        check()
      })
    },
    close() {
      for (const off of unsubscribe) off()
      listeners.clear()
    },
  }
}
