import { untilAborted } from '@tabswarm/sdk/contributor'
import type { KeyValueStore } from '../wallet/key-value-store.ts'

/** The store key: one record, replaced when the day changes. */
const KEY = 'tasks-today'
/** Storage answers in milliseconds; one that hangs (a blocked upgrade) must not hold the count. */
const DEFAULT_TIMEOUT_MS = 5_000

interface Record {
  /** The local calendar day, YYYY-MM-DD. */
  day: string
  count: number
}

export interface TasksTodayOptions {
  /** IndexedDB in the page (`indexedDbStore`), a Map in tests (`memoryStore`). */
  store: KeyValueStore
  /** The clock, injectable so a test crosses midnight. @default () => new Date() */
  now?: () => Date
  /** Budget of one storage call. @default 5000 */
  timeoutMs?: number
}

/** "2026-12-07" for the visitor's local day: "today" is theirs, not UTC's. */
export function localDay(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
}

/**
 * The tasks this browser completed today (accepted or awaiting agreement), kept across
 * reloads and Stop/Start in the page's store, and starting again from 0 on a new day.
 * Tabs of one profile share the count; two tabs finishing a task in the same millisecond may
 * count one (a read, then a write): a figure for the visitor, not for pay.
 */
export function createTasksToday(options: TasksTodayOptions) {
  const { store, now = () => new Date(), timeoutMs = DEFAULT_TIMEOUT_MS } = options

  const bounded = async <T>(work: Promise<T>, signal?: AbortSignal): Promise<T> => {
    const deadline = AbortSignal.timeout(timeoutMs)
    try {
      return await untilAborted(work, signal ? AbortSignal.any([signal, deadline]) : deadline)
    } catch (err) {
      if (deadline.aborted && !signal?.aborted)
        throw new Error(
          `the browser's storage did not answer within ${timeoutMs} ms: the count of tasks done today is not kept (close other tabs of this site, or reload)`,
        )
      throw err
    }
  }

  const read = async (signal?: AbortSignal): Promise<number> => {
    const stored = (await bounded(store.get(KEY), signal)) as Partial<Record> | undefined
    return stored?.day === localDay(now()) && typeof stored.count === 'number' ? stored.count : 0
  }

  return {
    /** Tasks done today so far. */
    read,
    /**
     * Counts `n` more tasks done today.
     * @returns today's count afterwards
     */
    async add(n = 1, signal?: AbortSignal): Promise<number> {
      const count = (await read(signal)) + n
      await bounded(store.put(KEY, { day: localDay(now()), count } satisfies Record), signal)
      return count
    },
  }
}

export type TasksToday = ReturnType<typeof createTasksToday>
