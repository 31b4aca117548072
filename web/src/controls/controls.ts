import { MIN_GPU_SHARE } from '@tabswarm/worker-kernels'

/**
 * What a contributor decides about its tab's work, remembered across visits (see
 * `controls-store.ts`): how much of the GPU, when to work, and what to accept.
 */
export interface ContributorControls {
  /** Share of the GPU's time kernels may use, `MIN_GPU_SHARE` (0.1) to 1. */
  gpuShare: number
  /** Take no new task; the one in flight finishes. */
  paused: boolean
  /** Take work only while the tab is visible. */
  visibleOnly: boolean
  /** Take work only while the user is idle (Idle Detection API, with permission). */
  idleOnly: boolean
  /** Take no work while the device runs on battery (Battery Status API). */
  stopOnBattery: boolean
  /** Largest GPU buffer a task may need, MiB; `null` for the GPU's own limit. */
  memoryCapMiB: number | null
  /** Run researchers' own WGSL kernels (`custom`), not only the built-in ones. */
  customKernels: boolean
}

/** Smallest memory cap: a task below it would be too small to be worth leasing. */
export const MIN_MEMORY_CAP_MIB = 16

/** Largest memory cap one can type: far above any adapter's buffer limit. */
export const MAX_MEMORY_CAP_MIB = 65_536

/**
 * The controls of a first visit. The page works whenever it was started; the widget, on
 * someone else's site, only while its tab is in front.
 */
export function defaultControls(where: 'page' | 'widget' = 'page'): ContributorControls {
  return {
    gpuShare: 1,
    paused: false,
    visibleOnly: where === 'widget',
    idleOnly: false,
    stopOnBattery: false,
    memoryCapMiB: null,
    customKernels: true,
  }
}

/**
 * Controls from storage (another version's, or hand-edited): each field of the right type
 * and range is kept, any other falls back to `defaults`, so a bad value never stops a tab.
 */
export function normalizeControls(
  raw: unknown,
  defaults: ContributorControls,
): ContributorControls {
  const value = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>
  const flag = (key: keyof ContributorControls) =>
    typeof value[key] === 'boolean' ? (value[key] as boolean) : (defaults[key] as boolean)
  const share = value.gpuShare
  const cap = value.memoryCapMiB
  return {
    gpuShare:
      typeof share === 'number' && share >= MIN_GPU_SHARE && share <= 1 ? share : defaults.gpuShare,
    paused: flag('paused'),
    visibleOnly: flag('visibleOnly'),
    idleOnly: flag('idleOnly'),
    stopOnBattery: flag('stopOnBattery'),
    memoryCapMiB:
      cap === null
        ? null
        : typeof cap === 'number' &&
            Number.isInteger(cap) &&
            cap >= MIN_MEMORY_CAP_MIB &&
            cap <= MAX_MEMORY_CAP_MIB
          ? cap
          : defaults.memoryCapMiB,
    customKernels: flag('customKernels'),
  }
}
