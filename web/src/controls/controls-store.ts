import { untilAborted } from '@tabswarm/sdk/contributor'
import { indexedDbStore } from '../wallet/indexed-db-store.ts'
import type { KeyValueStore } from '../wallet/key-value-store.ts'
import { type ContributorControls, normalizeControls } from './controls.ts'

/** How long reading or writing the controls may take before the page goes on without. */
export const CONTROLS_STORAGE_TIMEOUT_MS = 5_000

/** Where controls are kept: IndexedDB in the page (`indexedDbControlsBackend`), a Map in tests. */
export interface ControlsBackend {
  read(): Promise<unknown>
  write(value: ContributorControls): Promise<void>
}

/** IndexedDB database of the contributor's controls, apart from the wallet's and the identity's. */
const CONTROLS_DB = { database: 'tabswarm-controls', store: 'controls' } as const
/** One record: the controls of this browser profile (shared by its tabs). */
const KEY = 'controls'

/** The controls as one record of a key-value store (in the page, IndexedDB's). */
export function indexedDbControlsBackend(
  store: KeyValueStore = indexedDbStore(CONTROLS_DB),
): ControlsBackend {
  return {
    read: () => store.get(KEY),
    write: (value) => store.put(KEY, value),
  }
}

/** A backend that lasts as long as the object: tests, and a page whose storage is blocked. */
export function memoryControlsBackend(initial?: unknown): ControlsBackend & { value: unknown } {
  const backend = {
    value: structuredClone(initial),
    read: async () => structuredClone(backend.value),
    write: async (value: ContributorControls) => {
      backend.value = structuredClone(value)
    },
  }
  return backend
}

/** Settles with `work`, or rejects once `signal` aborts or `timeoutMs` passes. */
const bounded = <T>(work: Promise<T>, signal: AbortSignal, timeoutMs: number): Promise<T> =>
  untilAborted(work, AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]))

/** Options of `loadControls` and `saveControls`. */
export interface ControlsStorageOptions {
  backend: ControlsBackend
  signal: AbortSignal
  /** @default CONTROLS_STORAGE_TIMEOUT_MS (5 s) */
  timeoutMs?: number
}

/**
 * The remembered controls, each bad or missing field replaced by its default. Storage
 * that fails or hangs (private windows, a blocked IndexedDB) gives the defaults, with the
 * reason, rather than a tab that cannot start.
 */
export async function loadControls(
  defaults: ContributorControls,
  options: ControlsStorageOptions,
): Promise<{ controls: ContributorControls; error?: Error }> {
  try {
    const raw = await bounded(
      options.backend.read(),
      options.signal,
      options.timeoutMs ?? CONTROLS_STORAGE_TIMEOUT_MS,
    )
    return { controls: normalizeControls(raw, defaults) }
  } catch (err) {
    return { controls: { ...defaults }, error: err as Error }
  }
}

/** Remembers the controls; rejects when storage fails or takes longer than the timeout. */
export async function saveControls(
  controls: ContributorControls,
  options: ControlsStorageOptions,
): Promise<void> {
  await bounded(
    options.backend.write(controls),
    options.signal,
    options.timeoutMs ?? CONTROLS_STORAGE_TIMEOUT_MS,
  )
}
