/** Samples a process's resident set size on a timer: first, peak, latest, and every sample kept. */
export interface RssSampler {
  firstMb(): number
  peakMb(): number
  currentMb(): number
  /** `[performance.now() of the sample, MB]` pairs. */
  samples(): ReadonlyArray<readonly [number, number]>
  stop(): void
}

/**
 * Reads `readRss()` (bytes) every `intervalMs` until stopped. The timer is unref'd, so a
 * forgotten sampler never keeps the process alive.
 */
export function sampleRss(readRss: () => number | undefined, intervalMs: number): RssSampler {
  const kept: Array<readonly [number, number]> = []
  const take = () => {
    const bytes = readRss()
    if (bytes != null) kept.push([performance.now(), bytes / 1024 / 1024] as const)
  }
  take()
  const timer = setInterval(take, intervalMs)
  timer.unref()
  return {
    firstMb: () => kept[0]?.[1] ?? Number.NaN,
    peakMb: () => kept.reduce((peak, [, mb]) => Math.max(peak, mb), 0),
    currentMb: () => {
      take()
      return kept[kept.length - 1]?.[1] ?? Number.NaN
    },
    samples: () => kept,
    stop: () => clearInterval(timer),
  }
}
