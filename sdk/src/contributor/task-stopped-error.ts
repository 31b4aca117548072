import { TabswarmError } from '@tabswarm/protocol'

/** Why a contributor stopped a task before it finished. */
export type TaskStopReason =
  /** The contributor was stopped outright (a second Ctrl-C, a closed tab). */
  | 'stopped'
  /** A drain waited for the task as long as it may. */
  | 'drain-timeout'
  /** The relay said the lease is over (the job was cancelled, or the lease expired). */
  | 'lease-lost'

/** A task's kernel was aborted on purpose; `reason` says why, and so what to tell the relay. */
export class TaskStoppedError extends TabswarmError {
  override name = 'TaskStoppedError' as const
  readonly reason: TaskStopReason
  constructor(reason: TaskStopReason) {
    super(`task stopped: ${reason}`, { code: 'TASK_STOPPED' })
    this.reason = reason
  }
}
