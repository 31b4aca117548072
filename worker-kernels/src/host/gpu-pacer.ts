/**
 * Duty-cycle pacing of a device's GPU work, for contributors who lend only a share of
 * their GPU: every submission is sized to run about `SUBMISSION_TARGET_MS`, timed with
 * `queue.onSubmittedWorkDone()`, and followed by a rest long enough that busy / (busy +
 * rest) holds the chosen share. Pure arithmetic and state, no GPU calls: `runGpuProgram`
 * times the submissions and sleeps; this decides how long and how much.
 */

/** How long one paced submission aims to keep the GPU busy: short enough that the desktop stays responsive and the share is held over a fraction of a second. */
export const SUBMISSION_TARGET_MS = 100

/** Smallest share a call may ask for: below it a task would outlive its lease. */
export const MIN_GPU_SHARE = 0.1

/**
 * Work (in the passes' `workPerWorkgroup` units) of a first paced submission, before any
 * rate is known: about 100 ms on SwiftShader (0.6 GFLOP/s), far less on a real GPU. The
 * measured rate sizes every later one.
 */
export const INITIAL_PACED_WORK = 2 ** 26

/** Weight of the newest measurement in a program's work rate (exponential average). */
const RATE_WEIGHT = 0.5

/** The pacing state of one device, kept across calls so rests and rates carry over. */
export type GpuPacer = {
  /**
   * Milliseconds to wait, at `now`, before the next submission so that the last one's
   * busy time and the rest after it hold `share`. Idle time between calls counts as rest.
   */
  restBeforeNextMs(share: number, now: number): number
  /**
   * The most work one submission of the program `key` should carry to run about
   * `targetMs`, from its measured rate; `INITIAL_PACED_WORK` while unmeasured.
   */
  workPerSubmission(key: string, targetMs?: number): number
  /** Record a submission of `work` units of program `key` that kept the GPU busy `busyMs` until `doneAt`. */
  record(key: string, work: number, busyMs: number, doneAt: number): void
}

/**
 * The rest owed after a submission that ran `busyMs`, for a duty cycle of `share`:
 * busy / (busy + rest) = share ⇔ rest = busy · (1 − share) / share.
 */
export function restAfterMs(busyMs: number, share: number): number {
  assertGpuShare(share)
  return (busyMs * (1 - share)) / share
}

/** Refuses a share outside [MIN_GPU_SHARE, 1], naming the range. */
export function assertGpuShare(share: number): void {
  if (!(share >= MIN_GPU_SHARE && share <= 1)) {
    throw new RangeError(`gpuShare must be between ${MIN_GPU_SHARE} and 1, got ${share}.`)
  }
}

/** A fresh pacer: nothing owed, no rates known. */
export function createGpuPacer(): GpuPacer {
  let lastBusyMs = 0
  let lastDoneAt = Number.NEGATIVE_INFINITY
  const rates = new Map<string, number>()
  return {
    restBeforeNextMs(share, now) {
      if (lastBusyMs === 0) return 0
      return Math.max(0, lastDoneAt + restAfterMs(lastBusyMs, share) - now)
    },
    workPerSubmission(key, targetMs = SUBMISSION_TARGET_MS) {
      const rate = rates.get(key)
      return rate == null ? INITIAL_PACED_WORK : Math.max(1, Math.floor(rate * targetMs))
    },
    record(key, work, busyMs, doneAt) {
      lastBusyMs = Math.max(0, busyMs)
      lastDoneAt = doneAt
      // A submission too short to time says nothing about the rate.
      if (!(busyMs >= 1) || !(work > 0)) return
      const measured = work / busyMs
      const previous = rates.get(key)
      rates.set(
        key,
        previous == null ? measured : RATE_WEIGHT * measured + (1 - RATE_WEIGHT) * previous,
      )
    },
  }
}
