import { describe, expect, it } from 'vitest'
import { runCrashSuite } from '../../bench/reliability/crash.ts'

describe('crash: the relay process is SIGKILLed at five or more points of a job', () => {
  it('keeps every accepted result, pays nothing twice, recovers leases, and its contributors reconnect', async () => {
    const rows = await runCrashSuite({ long: false, log: (line) => console.log(line) })
    const value = (metric: string) => rows.find((r) => r.metric === metric)?.value
    expect(value('kills')).toBeGreaterThanOrEqual(5)
    expect(value('lost_tasks')).toBe(0)
    expect(value('double_paid')).toBe(0)
    expect(value('accepted_results_lost')).toBe(0)
    expect(value('wrong_results')).toBe(0)
    expect(value('ledger_imbalance')).toBe(0)
  }, 180_000)
})
