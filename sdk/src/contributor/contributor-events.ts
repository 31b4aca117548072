/** What a running contributor reports, for a page's status panel or a CLI's log. */
export type ContributorEvent =
  | { type: 'connected'; relay: string }
  | { type: 'idle'; retryAfterMs: number }
  /**
   * `flops` is 0 when the kernel cannot say (custom WGSL). `job` says what the task is part
   * of (name, kernel, progress) when the relay tells.
   */
  | {
      type: 'task-started'
      taskId: string
      jobId: string
      flops: number
      job?: {
        name?: string
        kernel: 'matmul' | 'custom' | 'inference'
        tasksAccepted: number
        tasksTotal: number
      }
    }
  /** A result reported `pending` earlier has been decided: its replicas agreed, or it was rejected. */
  | { type: 'task-verdict'; taskId: string; outcome: 'accepted' | 'rejected' }
  | {
      type: 'task-finished'
      taskId: string
      /**
       * `pending`: verified so far, waiting for agreeing replicas before it is paid.
       * `stale`: the lease ended first (the job was cancelled or the lease expired).
       */
      outcome: 'accepted' | 'pending' | 'rejected' | 'stale'
      elapsedMs: number
      reason?: string
    }
  /**
   * A task's inputs are in, each checked against its sha-256: `bytes` by where they came
   * from (this contributor's cache, peers over direct WebRTC, the relay), `fallbacks` the
   * sources or peers that failed first (dead, slow, lying or not holding them).
   */
  | {
      type: 'inputs-fetched'
      taskId: string
      bytes: { cache: number; peer: number; relay: number }
      fallbacks: number
      elapsedMs: number
    }
  | { type: 'task-failed'; taskId: string; error: string }
  /**
   * The relay refused this task's result as malformed for its lease (`code` is its own:
   * `MESSAGE_TOO_LARGE`, `PAYLOAD_MISMATCH`, `INVALID_MESSAGE`). Sending it again would be
   * refused again, so it is reported as a task error and the loop takes the next lease.
   */
  | { type: 'result-refused'; taskId: string; code: string; reason: string }
  /** Stopped before it finished and handed back to the relay, which leases it again at once. */
  | { type: 'task-released'; taskId: string; reason: 'stopped' | 'drain-timeout' }
  /** No more leases: the task in flight (if any) is finished and reported first. */
  | { type: 'draining'; taskId?: string }
  | { type: 'relay-error'; error: string; retryInMs: number }
  /**
   * The relay kept missing (`from`); the next request goes to another relay of the
   * cluster (`to`), after the `relay-error` wait that follows.
   */
  | { type: 'relay-failover'; from: string; to: string }
  /**
   * The relay refused this contributor for good (`code` is its own, e.g.
   * `CONTRIBUTOR_BANNED`, `INVALID_MESSAGE` for a hello it cannot read, or
   * `WORK_PROTOCOL_UNSUPPORTED` when it does not speak this build's work protocol): the loop
   * stops and rejects with a `RelayRefusalError`.
   */
  | { type: 'refused'; code: string; reason: string }
