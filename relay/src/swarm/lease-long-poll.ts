import type { LeaseGrant, WorkGateway } from '../coordinator/coordinator-api.ts'

export interface LeaseLongPollOptions {
  coordinator: WorkGateway
  /**
   * Longest a stage holder's lease request is held open waiting for its next step, well
   * inside the contributor's request timeout (`WORK_REQUEST_TIMEOUT_MS`, 30 s). 0 turns
   * holding off: the holder polls at the coordinator's `retryAfterMs`.
   * @default 2_000
   */
  maxWaitMs?: number
}

export interface LeaseLongPoll {
  /**
   * A lease for `peerId` now, or, for a peer that holds a stage of a running pipeline
   * (`coordinator.retryAfterMs` says so), the first one it can take within `maxWaitMs`;
   * undefined when none came. A later request of the same peer ends this one's wait
   * (undefined), as do `ended()` (asked for only when the request waits: the request's
   * deadline and its stream closing) and `stop()`. Nobody else ever waits: every other peer is
   * answered at once, with no timer or listener set up.
   */
  lease(
    peerId: string,
    holds: string[] | undefined,
    ended: () => AbortSignal,
  ): Promise<LeaseGrant | undefined>
  /** Ends every wait (each answers undefined) and refuses new ones. */
  stop(): void
}

/**
 * Holds a pipeline stage holder's lease request open until its next step is ready,
 * instead of making it poll every `pipelineRetryMs`: the step of stage s+1 is leased the
 * moment stage s's result is accepted, and the holders' idle requests cost nothing.
 *
 * A held request wakes on the coordinator's `onTaskReady` (a task queued, a lease
 * released or expired, a sequence finished, a peer left) and when the nearest pipeline
 * hold ends (`holdEndsInMs`: a step held for its KV cache's peer becomes anyone's with
 * nothing queued), then tries to lease again; it answers nothing only once `maxWaitMs` is
 * up or it is no longer a stage holder.
 */
export function createLeaseLongPoll(options: LeaseLongPollOptions): LeaseLongPoll {
  const { coordinator } = options
  const maxWaitMs = options.maxWaitMs ?? 2_000
  let stopped = false
  /**
   * Per peer, how to end its one held request. Also what `stop()` ends: no long-lived
   * signal is combined into every request's (`AbortSignal.any` keeps its sources' links).
   */
  const held = new Map<string, () => void>()

  /** Resolves on the next ready signal, after `ms`, or on `signal`; leaves nothing behind. */
  function wake(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        off()
        signal.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      const off = coordinator.onTaskReady(done)
      signal.addEventListener('abort', done, { once: true })
    })
  }

  return {
    async lease(peerId, holds, ended) {
      const now = coordinator.lease(peerId, holds)
      if (now != null || maxWaitMs <= 0 || stopped) return now
      if (coordinator.retryAfterMs(peerId) == null) return undefined
      // One held request per peer: the newer one is what the contributor waits on.
      held.get(peerId)?.()
      const mine = new AbortController()
      const end = () => mine.abort()
      held.set(peerId, end)
      const abort = AbortSignal.any([ended(), mine.signal])
      const deadline = performance.now() + maxWaitMs
      try {
        for (;;) {
          // Timers may fire a fraction of a millisecond early: that is the deadline too.
          const left = deadline - performance.now()
          if (left < 1 || abort.aborted) return undefined
          const hold = coordinator.holdEndsInMs()
          await wake(Math.ceil(hold == null ? left : Math.min(left, hold + 1)), abort)
          if (abort.aborted) return undefined
          const grant = coordinator.lease(peerId)
          if (grant != null) return grant
          // Its sequences finished, it left or was banned: nothing is due to it any more
          // (the work service tells a banned peer why).
          if (coordinator.retryAfterMs(peerId) == null || coordinator.refusal(peerId) != null)
            return undefined
        }
      } finally {
        if (held.get(peerId) === end) held.delete(peerId)
      }
    },

    stop() {
      stopped = true
      for (const end of [...held.values()]) end()
    },
  }
}
