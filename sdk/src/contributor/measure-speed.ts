import type { KernelRunner } from '@tabswarm/worker-kernels'
import { SPEED_PROBE_TIMEOUT_MS } from '../constants.ts'

/** Edge of the square matmul timed at start: small enough for a phone, big enough to time. */
export const SPEED_PROBE_EDGE = 256

/**
 * Measures the runner's f32 matmul speed in GFLOP/s: one warm-up run (compiles the
 * pipeline), then the fastest of two timed runs of a `edge`³ product. The coordinator sizes
 * and routes tasks with it.
 *
 * @example
 * const gflops = await measureMatmulGflops(host, { signal: AbortSignal.timeout(60_000) })
 */
export async function measureMatmulGflops(
  runner: KernelRunner,
  options: { signal: AbortSignal; timeoutMs?: number; edge?: number },
): Promise<number> {
  const edge = options.edge ?? SPEED_PROBE_EDGE
  const timeoutMs = options.timeoutMs ?? SPEED_PROBE_TIMEOUT_MS
  const a = Float32Array.from({ length: edge * edge }, (_, i) => ((i * 7) % 13) / 13 - 0.5)
  const b = Float32Array.from({ length: edge * edge }, (_, i) => ((i * 5) % 11) / 11 - 0.5)
  const run = () =>
    runner.run(
      { kernel: 'matmul', a, b, m: edge, k: edge, n: edge },
      { signal: options.signal, timeoutMs },
    )
  await run()
  let best = Number.POSITIVE_INFINITY
  for (let i = 0; i < 2; i++) {
    const started = performance.now()
    await run()
    best = Math.min(best, performance.now() - started)
  }
  return (2 * edge ** 3) / (Math.max(best, 0.01) * 1e6)
}
