import { KERNEL_DEADLINE_MARGIN_FRACTION, KERNEL_DEADLINE_MARGIN_MS } from '../constants.ts'

/** Options of `kernelDeadlineMs`. */
export type KernelDeadlineOptions = {
  /**
   * Longest margin kept between the kernel's deadline and the lease's expiry.
   * @default KERNEL_DEADLINE_MARGIN_MS (10 s)
   */
  marginMs?: number
  /**
   * The margin as a share of the lease, used when it is the smaller of the two, so a short
   * lease still leaves its kernel most of its time.
   * @default KERNEL_DEADLINE_MARGIN_FRACTION (0.25)
   */
  marginFraction?: number
}

/**
 * The deadline a contributor gives a leased task's kernel, in milliseconds from the lease's
 * grant: the lease's `expiresInMs` less a margin of `min(marginMs, marginFraction ×
 * expiresInMs)` (a 60 s lease: 50 s; an 8 s lease: 6 s), and at least 1 ms.
 *
 * Why not the lease's own expiry: a kernel that never ends (a researcher's endless loop) is
 * only reported once its deadline passes, plus the executor's grace, plus the report's trip
 * to the relay, plus, on a headless worker, a replacement kernel process starting on the
 * same cores. Given the lease's whole time, that `task-error` lands after the lease has
 * expired (lease renewals are lost under the same load), the relay calls it stale, the task
 * is never marked failed, and the same contributor may be leased the same hostile task
 * again. With the margin, the report lands while the lease is alive.
 *
 * A lease under 40 s gets a quarter of itself as margin, which can be less than the grace an
 * executor allows a worker that does not answer at its deadline (a tab's kernel worker 5 s,
 * a headless worker's kernel process 2 s): workers that answer on time, as they do when a
 * kernel merely never ends, still report in time.
 *
 * @example
 * executor.run(request, { signal, timeoutMs: kernelDeadlineMs(lease.expiresInMs) })
 */
export function kernelDeadlineMs(expiresInMs: number, options: KernelDeadlineOptions = {}): number {
  const marginMs = options.marginMs ?? KERNEL_DEADLINE_MARGIN_MS
  const fraction = options.marginFraction ?? KERNEL_DEADLINE_MARGIN_FRACTION
  if (!(expiresInMs >= 0) || !(marginMs >= 0) || !(fraction >= 0 && fraction < 1)) {
    throw new RangeError(
      `kernelDeadlineMs needs expiresInMs >= 0, marginMs >= 0 and 0 <= marginFraction < 1; got ${expiresInMs}, ${marginMs}, ${fraction}.`,
    )
  }
  const margin = Math.min(marginMs, expiresInMs * fraction)
  // A lease with no time left still gets a positive deadline: executors refuse 0 ms, and
  // the run then fails (and is reported) at once.
  return Math.max(1, Math.floor(expiresInMs - margin))
}
