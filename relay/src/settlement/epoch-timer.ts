import type { Logger } from '../log.ts'

export interface EpochTimerOptions {
  intervalMs: number
  /** Closes one epoch; the signal aborts when the timer stops. */
  close(signal: AbortSignal): Promise<{ closed: boolean; message: string }>
  log: Logger
}

/**
 * Closes an epoch every `intervalMs`, counted from the end of the previous attempt so slow
 * chains never stack attempts. A failed close is logged and retried at the next tick: the
 * epoch it left is stored and the next close resumes it.
 */
export function createEpochTimer(options: EpochTimerOptions): { stop(): Promise<void> } {
  const stopping = new AbortController()
  let running: Promise<void> = Promise.resolve()
  let timer: ReturnType<typeof setTimeout> | undefined

  const schedule = () => {
    if (stopping.signal.aborted) return
    timer = setTimeout(tick, options.intervalMs)
    timer.unref()
  }
  function tick(): void {
    running = options
      .close(stopping.signal)
      .then(
        (result) =>
          options.log.info('epoch timer', { closed: result.closed, message: result.message }),
        (err) => {
          if (!stopping.signal.aborted)
            options.log.warn('closing an epoch failed; the next tick tries again', { error: err })
        },
      )
      .finally(schedule)
  }
  schedule()
  return {
    async stop() {
      stopping.abort()
      clearTimeout(timer)
      await running
    },
  }
}
