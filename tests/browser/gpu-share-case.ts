/**
 * The GPU share (duty cycle) on a real WebGPU adapter: a kernel host on this page's own
 * device runs a long matmul back to back under a `gpuShare`, while every `queue.submit`
 * is timed to its `onSubmittedWorkDone()` by a wrapper the host knows nothing of. The
 * measured busy fraction is what the contributor's GPU share promises.
 */
import { createKernelHost, type KernelHost, seededRandomF32 } from '@tabswarm/worker-kernels'

/** What one measurement saw. */
export type GpuShareMeasurement = {
  share: number
  /** Busy over busy plus rest, from the first submission's start to the last one's. */
  busyFraction: number
  submissions: number
  /** The longest submit-to-done time, ms. */
  longestSubmissionMs: number
  windowMs: number
}

/** Edge of the square matmul each call runs: about half a second on SwiftShader. */
const EDGE = 512

/** Every submission of this page: when it was queued and when the GPU finished it. */
const spans: { start: number; end: number }[] = []
let patched = false

/** Times each submission from `submit` to its `onSubmittedWorkDone`, for every queue of the page. */
function timeSubmissions(): void {
  if (patched) return
  patched = true
  const submit = GPUQueue.prototype.submit
  GPUQueue.prototype.submit = function (this: GPUQueue, buffers: Iterable<GPUCommandBuffer>) {
    const start = performance.now()
    submit.call(this, buffers)
    const span = { start, end: Number.NaN }
    spans.push(span)
    this.onSubmittedWorkDone().then(
      () => {
        span.end = performance.now()
      },
      () => {},
    )
  }
}

let host: Promise<KernelHost> | undefined

/**
 * Runs matmuls under `share` for about `windowMs` (after a warm-up call that compiles the
 * pipeline and measures the rate), then measures the duty cycle of the submissions made.
 */
export async function measureGpuShare(
  share: number,
  windowMs: number,
): Promise<GpuShareMeasurement> {
  timeSubmissions()
  host ??= createKernelHost({ gpu: navigator.gpu })
  const kernels = await host
  const a = seededRandomF32(EDGE * EDGE, 1)
  const b = seededRandomF32(EDGE * EDGE, 2)
  const call = () =>
    kernels.run(
      { kernel: 'matmul', a, b, m: EDGE, k: EDGE, n: EDGE },
      { gpuShare: share, timeoutMs: 120_000 },
    )
  await call()
  const first = spans.length
  const started = performance.now()
  while (performance.now() - started < windowMs) await call()
  const seen = spans.slice(first)
  // Each cycle runs from one submission's start to the next's: busy, then rest. The last
  // submission opens a cycle whose rest is not in the window, so it is left out.
  const cycles = seen.slice(0, -1)
  const busy = cycles.reduce((sum, span) => sum + (span.end - span.start), 0)
  const windowOf = (seen.at(-1)?.start ?? 0) - (seen[0]?.start ?? 0)
  return {
    share,
    busyFraction: windowOf > 0 ? busy / windowOf : Number.NaN,
    submissions: seen.length,
    longestSubmissionMs: Math.max(...seen.map((span) => span.end - span.start)),
    windowMs: windowOf,
  }
}
