/**
 * What the gates watch besides the controls: the tab's visibility, the user's idleness and
 * the battery. Each is an interface, so the gates are tested with fakes; the browser's
 * versions follow, each saying plainly when the browser lacks its API.
 */

/** Something the gates re-read when it tells them it changed. */
export interface GateSource<T> {
  current(): T
  /** Calls `listener` on each change; returns the unsubscribe. */
  subscribe(listener: () => void): () => void
}

/** Whether the tab is visible (`document.visibilityState`). */
export type VisibilitySource = GateSource<'visible' | 'hidden'>

/**
 * The user's idleness, from the Idle Detection API, once started with permission: `unknown`
 * until then (or where the API is missing), so a gate that needs `idle` stays closed.
 */
export type IdleSource = GateSource<'idle' | 'active' | 'unknown'> & {
  /** Whether this browser has the API at all. */
  readonly supported: boolean
  /**
   * Asks permission (a user gesture must be under way: call it from the click) and starts
   * watching. Resolves once it watches; rejects with a reason that names the fix.
   */
  start(signal: AbortSignal): Promise<void>
}

/** Whether the device runs on battery: `discharging`, `charging`, or `unknown` where the API is missing. */
export type BatterySource = GateSource<'discharging' | 'charging' | 'unknown'> & {
  readonly supported: boolean
}

/** Listeners called on each change. */
function listeners() {
  const set = new Set<() => void>()
  return {
    add(listener: () => void) {
      set.add(listener)
      return () => void set.delete(listener)
    },
    notify() {
      for (const listener of [...set]) listener()
    },
  }
}

/** The document's visibility. */
export function documentVisibility(doc: Document): VisibilitySource {
  return {
    current: () => (doc.visibilityState === 'hidden' ? 'hidden' : 'visible'),
    subscribe(listener) {
      doc.addEventListener('visibilitychange', listener)
      return () => doc.removeEventListener('visibilitychange', listener)
    },
  }
}

/** How long without input counts as idle: the API's own minimum is 60 s. */
export const IDLE_THRESHOLD_MS = 60_000

/** The part of `IdleDetector` used here (not in TypeScript's DOM types yet). */
interface IdleDetectorLike extends EventTarget {
  readonly userState: 'active' | 'idle' | null
  start(options: { threshold: number; signal: AbortSignal }): Promise<void>
}
interface IdleDetectorConstructor {
  new (): IdleDetectorLike
  requestPermission(): Promise<'granted' | 'denied'>
}

/** The user's idleness from the Idle Detection API (Chromium browsers), where it exists. */
export function idleDetection(scope: object = globalThis): IdleSource {
  const Detector = (scope as { IdleDetector?: IdleDetectorConstructor }).IdleDetector
  const changed = listeners()
  let detector: IdleDetectorLike | undefined
  return {
    supported: Detector != null,
    current: () => detector?.userState ?? 'unknown',
    subscribe: (listener) => changed.add(listener),
    async start(signal) {
      if (Detector == null) {
        throw new Error('This browser has no Idle Detection API (Chrome and Edge have it).')
      }
      if (detector != null) return
      const permission = await Detector.requestPermission()
      if (permission !== 'granted') {
        throw new Error(
          'Permission to detect when you are idle was refused: allow it in the site settings, then tick the box again.',
        )
      }
      const next = new Detector()
      next.addEventListener('change', () => changed.notify())
      await next.start({ threshold: IDLE_THRESHOLD_MS, signal })
      detector = next
      changed.notify()
    },
  }
}

/** The part of `BatteryManager` used here (not in TypeScript's DOM types). */
interface BatteryManagerLike extends EventTarget {
  readonly charging: boolean
}

/**
 * The battery from the Battery Status API (Chromium browsers), where it exists; `unknown`
 * until its first answer, and for good where it is missing (Firefox, Safari).
 */
export function batteryStatus(
  nav: object = globalThis.navigator,
  signal?: AbortSignal,
): BatterySource {
  const getBattery = (nav as { getBattery?: () => Promise<BatteryManagerLike> }).getBattery
  const changed = listeners()
  let battery: BatteryManagerLike | undefined
  if (getBattery != null) {
    getBattery
      .call(nav)
      .then((manager) => {
        if (signal?.aborted) return
        battery = manager
        manager.addEventListener('chargingchange', () => changed.notify(), signal ? { signal } : {})
        changed.notify()
      })
      .catch(() => {
        // A browser that refuses (a permissions policy) is one without the API.
      })
  }
  return {
    supported: getBattery != null,
    current: () => (battery == null ? 'unknown' : battery.charging ? 'charging' : 'discharging'),
    subscribe: (listener) => changed.add(listener),
  }
}
