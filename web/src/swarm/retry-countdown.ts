/**
 * The wait before a relay is dialled again, shown as it runs out: `start(ms, render)`
 * renders the whole seconds left at once and then every second, down to 0 (the wait is
 * over and the dial is under way), until the next `start` or `stop`. A line that said
 * "retrying in 27 s" and stayed so for half a minute would tell a contributor nothing.
 */
export interface RetryCountdown {
  start(ms: number, render: (secondsLeft: number) => void): void
  stop(): void
}

export function createRetryCountdown(): RetryCountdown {
  let timer: ReturnType<typeof setInterval> | undefined
  const stop = () => {
    if (timer != null) clearInterval(timer)
    timer = undefined
  }
  return {
    start(ms, render) {
      stop()
      const end = Date.now() + Math.max(0, ms)
      const tick = () => {
        const left = Math.max(0, Math.ceil((end - Date.now()) / 1000))
        render(left)
        if (left === 0) stop()
      }
      tick()
      if (ms > 0) timer = setInterval(tick, 1_000)
    },
    stop,
  }
}
