import type { JobView } from '@tabswarm/protocol'
import { createProgressBar } from './progress-bar.ts'

/**
 * How a command shows a running job, so a wait is never silent: on a terminal, a progress
 * bar whose note says what the job waits for (`JobView.waiting.message`); elsewhere (a log,
 * a pipe, CI) a plain line every `intervalMs` and at once when what it waits for changes.
 * Silent with `quiet` (`--json`): stdout and stderr stay for machines.
 */
export interface JobProgress {
  /** The job's latest state; `done` overrides `job.tasks.accepted` (e.g. outputs written). */
  update(job: JobView, done?: number): void
  /** Ends the bar's line and stops the timer; safe to call twice. */
  done(): void
}

export interface JobProgressOptions {
  /** Draw a bar (a terminal) rather than print lines. @default stream.isTTY */
  tty?: boolean
  /** Print nothing at all (`--json`). @default false */
  quiet?: boolean
  /** Plain lines at most this often while nothing changes. @default PROGRESS_LINE_INTERVAL_MS */
  intervalMs?: number
}

/** How often a job's plain progress line repeats when stderr is not a terminal. */
export const PROGRESS_LINE_INTERVAL_MS = 5_000

/** `3 tasks waiting: no contributor online`, or '' for a job that waits for nothing. */
export function describeWaiting(job: JobView): string {
  return job.status === 'running' && job.waiting ? job.waiting.message : ''
}

/**
 * @example
 * const progress = createJobProgress(process.stderr, 'tiles verified', { quiet: values.json })
 * await client.matmul(a, b, { onProgress: (job) => progress.update(job) }).finally(() => progress.done())
 */
export function createJobProgress(
  stream: NodeJS.WriteStream,
  label: string,
  {
    tty = stream.isTTY === true,
    quiet = false,
    intervalMs = PROGRESS_LINE_INTERVAL_MS,
  }: JobProgressOptions = {},
): JobProgress {
  const bar = createProgressBar(stream, label, { enabled: tty && !quiet })
  const lines = !tty && !quiet
  let latest: { job: JobView; done: number } | undefined
  let printedReason: string | undefined
  let timer: ReturnType<typeof setInterval> | undefined

  const print = () => {
    if (latest == null) return
    const { job, done } = latest
    const waiting = describeWaiting(job)
    printedReason = job.waiting?.reason
    stream.write(
      `job ${job.id}: ${done}/${job.tasks.total} ${label}${waiting ? `; ${waiting}` : ''}\n`,
    )
  }

  return {
    update(job, done = job.tasks.accepted) {
      latest = { job, done }
      bar.update(done, job.tasks.total, describeWaiting(job))
      if (!lines || job.status !== 'running') return
      // The first state, and every change of what the job waits for, at once; the rest on
      // the timer, so a log shows the job is alive without a line per accepted task.
      if (timer == null || job.waiting?.reason !== printedReason) print()
      timer ??= setInterval(print, intervalMs)
      // A command's progress must not keep the process alive after the job.
      timer.unref?.()
    },
    done() {
      if (timer != null) clearInterval(timer)
      timer = undefined
      bar.done()
    },
  }
}
