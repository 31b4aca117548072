import { describe, expect, it } from 'vitest'
import { loadRelay } from '../../bench/reliability/load.ts'

const CONTRIBUTORS = Number(process.env.TABSWARM_LOAD_CONTRIBUTORS ?? 100)
const DURATION_MS = Number(process.env.TABSWARM_LOAD_MS ?? 20_000)

describe('one relay under a job stream from many contributors', () => {
  it(`serves ${CONTRIBUTORS} contributors for ${DURATION_MS / 1000} s: all tasks done, store whole, memory bounded`, async () => {
    const lines: string[] = []
    const report = await loadRelay({
      contributors: CONTRIBUTORS,
      durationMs: DURATION_MS,
      warmupMs: 5_000,
      log: (line) => lines.push(line),
    })
    const summary = `${lines.join('\n')}\n${JSON.stringify(report)}`
    expect(report.connected, summary).toBe(CONTRIBUTORS)
    expect(report.jobs.completed, summary).toBeGreaterThan(0)
    expect(report.tasksPerSecond, summary).toBeGreaterThan(0)
    // Every task of every job submitted was done by the end of the drain, and paid once.
    expect(report.lostTasks, summary).toBe(0)
    expect(report.jobs.completed, summary).toBe(report.jobs.submitted)
    expect(report.rejected, summary).toBe(0)
    expect(report.store.imbalance, summary).toBe(0)
    expect(report.store.halfWritten, summary).toEqual([])
    expect(report.store.paidBeyondAccepted, summary).toBe(0)
    // The relay's memory is bounded: under 1 GiB, and the last window within 1.5x the first.
    expect(report.rss.peakMb, summary).toBeLessThan(1024)
    expect(report.rss.lastWindowMb, summary).toBeLessThan(report.rss.firstWindowMb * 1.5)
  }, 180_000)
})
