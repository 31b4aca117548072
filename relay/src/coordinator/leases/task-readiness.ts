/**
 * A signal that a task may have become leasable: one was queued (a pipeline step's
 * successor after an accepted stage or a chosen token, a task put back after a rejection,
 * a released or expired lease) or an inference task was accepted. What lets the work
 * service hold a pipeline stage holder's lease request open instead of making it poll.
 *
 * Telling costs one size check while nobody listens: the matmul and custom flows, which
 * have no listeners, pay nothing more per queued task.
 */
export interface TaskReadiness {
  /** Calls the listeners, once each, in the order they were added. Synchronous. */
  notify(): void
  /**
   * Calls `listener` on every `notify` until the returned function removes it. The
   * listener must be cheap and must not throw: it runs inside the coordinator's queueing.
   */
  onReady(listener: () => void): () => void
}

export function createTaskReadiness(): TaskReadiness {
  const listeners = new Set<() => void>()
  return {
    notify() {
      if (listeners.size === 0) return
      for (const listener of [...listeners]) listener()
    },
    onReady(listener) {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
  }
}
