import type { JobView } from '@tabswarm/protocol'
import { ApiRequestError } from './client-errors.ts'
import type { JobHandle } from './job-handle.ts'

/**
 * Cancels a job its caller gave up on (Ctrl-C, a timeout, a failed write), and says how it
 * stands: cancelled (with what was refunded), or the state it ended in when the relay
 * answers `JOB_FINISHED` (it won the race). Undefined when the relay cannot be asked; never
 * throws. Each request is bounded by the transport's timeout, not by the aborted signal.
 */
export async function cancelAfterAbort(
  handle: Pick<JobHandle, 'cancel' | 'status'>,
): Promise<JobView | undefined> {
  try {
    return await handle.cancel()
  } catch (err) {
    if (err instanceof ApiRequestError && err.code === 'JOB_FINISHED')
      return handle.status().catch(() => undefined)
    return undefined
  }
}
