import { type JobSample, MAX_JOB_HISTORY_SAMPLES, type TaskStates } from '@tabswarm/protocol'
import type { StoredJob } from '../../store/coordinator-store.ts'

/** One sample of a job: its task states at `at`, and the results it rejected so far. */
export function jobSample(at: number, states: TaskStates, row: StoredJob): JobSample {
  return {
    at,
    queued: states.queued,
    leased: states.leased,
    awaitingSecondOpinion: states.awaitingSecondOpinion,
    awaitingConfirmation: states.awaitingConfirmation,
    accepted: states.accepted,
    rejected: row.rejectedResults,
  }
}

export interface JobHistoriesOptions {
  /** How often a running job is sampled at first; the gap doubles each time it is thinned. @default 2_000 */
  intervalMs?: number
  /** Most samples one job keeps. @default MAX_JOB_HISTORY_SAMPLES */
  maxSamples?: number
  /** Ended jobs whose history is kept, the most recently ended. @default 256 */
  keepEnded?: number
}

/**
 * The task states of jobs over time, for charts, in memory: a restart begins them again.
 * A running job is sampled every `intervalMs`; when it holds more than `maxSamples`, every
 * other sample goes (the latest stays, and with an even `maxSamples` the first) and the gap doubles, so a long job's
 * history stays evenly spaced over its whole run in bounded memory. The last sample is
 * taken at the job's end, and kept with the rest for the `keepEnded` jobs that ended last.
 */
export interface JobHistories {
  /** A job starts (or resumes after a restart): its history begins with this sample. */
  begin(jobId: string, sample: JobSample): void
  /** Whether the running job `jobId` is due a sample at `now`. */
  due(jobId: string, now: number): boolean
  /** Adds a sample to a running job's history (thinning it when full). */
  record(jobId: string, sample: JobSample): void
  /** The job ended: its last sample, and its history kept among the recently ended. */
  end(jobId: string, sample: JobSample): void
  /** A copy of a job's samples, oldest first; undefined when none are held. */
  samples(jobId: string): JobSample[] | undefined
}

interface History {
  samples: JobSample[]
  intervalMs: number
  nextAt: number
}

export function createJobHistories(options: JobHistoriesOptions = {}): JobHistories {
  const intervalMs = options.intervalMs ?? 2_000
  const maxSamples = Math.max(2, options.maxSamples ?? MAX_JOB_HISTORY_SAMPLES)
  const keepEnded = options.keepEnded ?? 256
  const running = new Map<string, History>()
  // Insertion order is end order: the first key ended longest ago.
  const ended = new Map<string, JobSample[]>()

  function add(history: History, sample: JobSample): void {
    history.samples.push(sample)
    if (history.samples.length > maxSamples) {
      // Odd positions go: with the newest at an even position the latest sample stays.
      const last = history.samples.length - 1
      history.samples = history.samples.filter((_, i) => (last - i) % 2 === 0)
      history.intervalMs *= 2
    }
    history.nextAt = sample.at + history.intervalMs
  }

  return {
    begin(jobId, sample) {
      ended.delete(jobId)
      running.set(jobId, { samples: [sample], intervalMs, nextAt: sample.at + intervalMs })
    },

    due: (jobId, now) => {
      const history = running.get(jobId)
      return history != null && now >= history.nextAt
    },

    record(jobId, sample) {
      const history = running.get(jobId)
      if (history != null) add(history, sample)
    },

    end(jobId, sample) {
      const history = running.get(jobId) ?? { samples: [], intervalMs, nextAt: 0 }
      running.delete(jobId)
      add(history, sample)
      ended.set(jobId, history.samples)
      while (ended.size > keepEnded) ended.delete(ended.keys().next().value!)
    },

    samples(jobId) {
      const samples = running.get(jobId)?.samples ?? ended.get(jobId)
      return samples?.slice()
    },
  }
}
