import { describe, expect, it } from 'vitest'
import { fuzzRelay } from '../../bench/reliability/fuzz.ts'

const CASES = Number(process.env.TABSWARM_FUZZ_CASES ?? 1_500)
const SEED = Number(process.env.TABSWARM_FUZZ_SEED ?? 20261207)

describe('the relay under fuzzing (work, blob and discovery messages; every HTTP route)', () => {
  it(`answers ${CASES} seeded hostile cases clearly, keeps serving, and keeps its store whole`, async () => {
    const lines: string[] = []
    const report = await fuzzRelay({
      cases: CASES,
      seed: SEED,
      stalledStreamsMs: 20_000,
      log: (line) => lines.push(line),
    })
    const summary = `seed ${SEED}:\n${lines.join('\n')}\n${report.failures
      .slice(0, 10)
      .map(
        (f) =>
          `case ${f.index} (caseSeed ${f.caseSeed}) ${f.target}/${f.kind}: ${f.change} -> ${f.problem}`,
      )
      .join('\n')}\n${report.relayErrors.slice(0, 5).join('\n')}`
    expect(report.cases, summary).toBe(CASES)
    for (const target of ['work', 'http', 'blob', 'discovery'] as const)
      expect(report.casesByTarget[target]).toBeGreaterThan(0)
    expect(report.crashes, summary).toEqual([])
    expect(report.failures, summary).toEqual([])
    expect(report.relayErrors, summary).toEqual([])
    // Memory stays bounded: the run (relay and fuzzing peers in this process) grows by less than this.
    expect(report.peakRssMb - report.rssStartMb, summary).toBeLessThan(768)
    expect(report.store.imbalance).toBe(0)
    expect(report.store.halfWritten).toEqual([])
    expect(report.store.statuses.running ?? 0).toBe(0)
    // A peer that stops mid-message is cut by the relay's idle deadline (5 s), not left to
    // the 60 s request deadline (issue 9, defect 1).
    expect(report.stalled?.length, summary).toBeGreaterThan(0)
    for (const stall of report.stalled ?? []) {
      expect(stall.outcome, stall.where).not.toBe('hang')
      expect(stall.cutAfterMs, stall.where).toBeLessThan(10_000)
    }
  }, 180_000)
})
