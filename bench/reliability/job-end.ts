import type { JobView } from '@tabswarm/protocol'
import type { Coordinator } from '@tabswarm/relay'

/**
 * Resolves with the job once it has ended (completed, failed, cancelled), as the
 * coordinator's event feed reports it; rejects when `signal` aborts first.
 */
export async function jobEnd(
  coordinator: Coordinator,
  jobId: string,
  signal: AbortSignal,
): Promise<JobView> {
  const now = await coordinator.getJob(jobId)
  if (now.status !== 'running') return now
  return new Promise<JobView>((resolve, reject) => {
    const onAbort = () => {
      unsubscribe()
      reject(new Error(`job ${jobId} did not end in time: ${String(signal.reason)}`))
    }
    const unsubscribe = coordinator.subscribe(jobId, (event) => {
      if (event.type === 'completed' || event.type === 'failed' || event.type === 'cancelled') {
        signal.removeEventListener('abort', onAbort)
        unsubscribe()
        resolve(event.job)
      }
    })
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    // It may have ended between the first look and the subscription.
    void coordinator.getJob(jobId).then((view) => {
      if (view.status === 'running') return
      signal.removeEventListener('abort', onAbort)
      unsubscribe()
      resolve(view)
    }, reject)
  })
}
