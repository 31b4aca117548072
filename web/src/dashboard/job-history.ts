import type { JobSample, JobView } from '@tabswarm/protocol'
import { MAX_JOB_HISTORY_SAMPLES } from '@tabswarm/protocol'

/**
 * A job's task states over time as the page saw them, for a relay without
 * `GET /v1/jobs/:id/detail` (which keeps the history itself): one sample per progress
 * event, from the counts a `JobView` has (leased, accepted, the rest queued).
 */
export class LocalJobHistory {
  readonly samples: JobSample[] = []

  add(job: JobView, at = Date.now()): void {
    const { total, accepted, leased, rejectedResults } = job.tasks
    this.samples.push({
      at,
      queued: Math.max(0, total - accepted - leased),
      leased,
      awaitingSecondOpinion: 0,
      awaitingConfirmation: 0,
      accepted,
      rejected: rejectedResults,
    })
    // Thinned as the relay thins its own: every other sample once full.
    if (this.samples.length > MAX_JOB_HISTORY_SAMPLES) {
      const kept = this.samples.filter((_, i) => i % 2 === 0 || i === this.samples.length - 1)
      this.samples.splice(0, this.samples.length, ...kept)
    }
  }
}
