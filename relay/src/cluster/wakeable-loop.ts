import type { Logger } from '../log.ts'

export interface WakeableLoopOptions {
  /** Ends the loop; a round under way finishes first (its own calls take the signal). */
  signal: AbortSignal
  /**
   * One round of work; resolves with how long to wait before the next one unless woken.
   * A round that throws is logged and the loop waits `retryMs`.
   */
  round(signal: AbortSignal): Promise<number>
  log: Logger
  /** What the loop is, for its error lines. */
  name: string
  /** Wait after a failed round. @default 1_000 */
  retryMs?: number
}

export interface WakeableLoop {
  /** Starts the next round now, or right after the one under way. */
  wake(): void
  /** Resolves once the loop has stopped (after `signal` aborts). */
  readonly done: Promise<void>
}

/**
 * Rounds of work, one at a time, each followed by a wait it chooses itself (short while
 * busy, long while idle) that a notification cuts short: the shape of every loop of a
 * cluster relay that polls a table and is also told when to look.
 */
export function runWakeableLoop(options: WakeableLoopOptions): WakeableLoop {
  const { signal, log } = options
  const retryMs = options.retryMs ?? 1_000
  let woken = false
  let cut: (() => void) | undefined

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (signal.aborted || woken) return resolve()
      const finish = () => {
        clearTimeout(timer)
        signal.removeEventListener('abort', finish)
        cut = undefined
        resolve()
      }
      const timer = setTimeout(finish, ms)
      signal.addEventListener('abort', finish, { once: true })
      cut = finish
    })

  const done = (async () => {
    while (!signal.aborted) {
      woken = false
      let wait: number
      try {
        wait = await options.round(signal)
      } catch (err) {
        if (signal.aborted) break
        log.warn(`${options.name} round failed`, { error: (err as Error).message })
        wait = retryMs
      }
      await pause(wait)
    }
  })()

  return {
    wake() {
      woken = true
      cut?.()
    },
    done,
  }
}
