import type { ContributionControls } from './contribution-controls.ts'
import { type ContributionGates, createContributionGates } from './contribution-gates.ts'
import { type ContributorControls, defaultControls } from './controls.ts'
import { renderControlsPanel } from './controls-panel.ts'
import { type ControlsBackend, indexedDbControlsBackend, loadControls } from './controls-store.ts'
import { batteryStatus, documentVisibility, idleDetection } from './gate-sources.ts'
import { createLiveControls, type LiveControls } from './live-controls.ts'

/** Options of `startControls`. */
export interface StartControlsOptions {
  /** Where the panel goes (the page's `<section id="controls">`). */
  container: HTMLElement
  /** The page's defaults or the widget's (visible-only). @default 'page' */
  where?: 'page' | 'widget'
  /** @default IndexedDB (`indexedDbControlsBackend`) */
  backend?: ControlsBackend
  /** Told when the remembered controls could not be read or stored. */
  onStorageError?: (error: Error) => void
  /** The panel's life: its listeners and the idle detector stop when it aborts. */
  signal: AbortSignal
}

/** The contributor's controls on a page: what `contribute()` takes, plus the parts behind it. */
export interface StartedControls extends ContributionControls {
  /** Settles once the remembered controls are loaded and the panel is shown. */
  ready: Promise<void>
  /** The live controls and the gates, once `ready`. */
  live(): LiveControls | undefined
  gates(): ContributionGates | undefined
}

/**
 * Loads the remembered controls, renders the panel into `container` and composes the gates
 * (paused, hidden, not idle, on battery). Returns at once: until the controls are loaded,
 * `current()` gives the defaults and `whenOpen` waits for them, so a tab started early
 * (`?autostart`) still takes no lease its remembered pause forbids.
 *
 * @example
 * const controls = startControls({ container: document.querySelector('#controls')!, signal })
 * await contribute({ wallet, hooks, signal: run.signal, controls })
 */
export function startControls(options: StartControlsOptions): StartedControls {
  const { container, signal } = options
  const defaults = defaultControls(options.where ?? 'page')
  const backend = options.backend ?? indexedDbControlsBackend()
  let live: LiveControls | undefined
  let gates: ContributionGates | undefined
  const ready = (async () => {
    const { controls, error } = await loadControls(defaults, { backend, signal })
    if (error) options.onStorageError?.(error)
    live = createLiveControls({
      initial: controls,
      backend,
      signal,
      ...(options.onStorageError ? { onSaveError: options.onStorageError } : {}),
    })
    const doc = container.ownerDocument
    const idle = idleDetection(doc.defaultView ?? globalThis)
    const battery = batteryStatus(doc.defaultView?.navigator ?? globalThis.navigator, signal)
    gates = createContributionGates({
      controls: live,
      visibility: documentVisibility(doc),
      idle,
      battery,
    })
    signal.addEventListener('abort', () => gates?.close(), { once: true })
    renderControlsPanel({ container, controls: live, gates, idle, battery, signal })
  })()
  return {
    ready,
    live: () => live,
    gates: () => gates,
    current: (): ContributorControls => live?.current() ?? defaults,
    async whenOpen(gateSignal) {
      await Promise.race([
        ready,
        new Promise<never>((_, reject) => {
          if (gateSignal.aborted) reject(gateSignal.reason)
          gateSignal.addEventListener('abort', () => reject(gateSignal.reason), { once: true })
        }),
      ])
      await (gates as ContributionGates).whenOpen(gateSignal)
    },
  }
}
