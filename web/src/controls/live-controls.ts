import type { ContributorControls } from './controls.ts'
import { type ControlsBackend, saveControls } from './controls-store.ts'
import type { GateSource } from './gate-sources.ts'

/**
 * The controls as they are now, for everything that reads them (the gates, the kernel
 * calls, the next hello), remembered on every change.
 */
export interface LiveControls extends GateSource<ContributorControls> {
  /** Changes some controls: listeners hear of it at once, storage follows. */
  update(patch: Partial<ContributorControls>): void
  /** Resolves once every change so far is stored (or failed to be). */
  saved(): Promise<void>
}

/** Options of `createLiveControls`. */
export interface LiveControlsOptions {
  initial: ContributorControls
  backend: ControlsBackend
  /** Told when a change could not be stored: it still holds for this page. */
  onSaveError?: (error: Error) => void
  /** Stops storing changes. */
  signal: AbortSignal
}

/** Live controls over `backend`: writes are queued, one at a time, so the last change wins. */
export function createLiveControls(options: LiveControlsOptions): LiveControls {
  let value: ContributorControls = { ...options.initial }
  const listeners = new Set<() => void>()
  let writing: Promise<void> = Promise.resolve()
  return {
    current: () => value,
    subscribe(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    update(patch) {
      value = { ...value, ...patch }
      const snapshot = value
      for (const listener of [...listeners]) listener()
      writing = writing.then(() =>
        saveControls(snapshot, { backend: options.backend, signal: options.signal }).catch(
          (err: Error) => options.onSaveError?.(err),
        ),
      )
    },
    saved: () => writing,
  }
}
