/** What a running contributor reports, for a page's status panel or a CLI's log. */
export type ContributorEvent =
  | { type: 'connected'; relay: string }
  | { type: 'idle'; retryAfterMs: number }
  | { type: 'task-started'; taskId: string; jobId: string; flops: number }
  | {
      type: 'task-finished'
      taskId: string
      /** `pending`: verified so far, waiting for agreeing replicas before it is paid. */
      outcome: 'accepted' | 'pending' | 'rejected' | 'stale'
      elapsedMs: number
      reason?: string
    }
  | { type: 'task-failed'; taskId: string; error: string }
  | { type: 'relay-error'; error: string; retryInMs: number }
