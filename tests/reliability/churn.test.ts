import { describe, expect, it } from 'vitest'
import { runChurnSuite } from '../../bench/reliability/churn.ts'

describe('churn: contributors join and leave while a 500-task job runs', () => {
  it('loses no task, pays none twice, accepts no wrong result and keeps the ledger balanced', async () => {
    const rows = await runChurnSuite({ long: false, log: (line) => console.log(line) })
    const value = (metric: string) => rows.find((r) => r.metric === metric)?.value
    expect(value('lost_tasks')).toBe(0)
    expect(value('double_paid')).toBe(0)
    expect(value('unpaid_tasks')).toBe(0)
    expect(value('wrong_results')).toBe(0)
    expect(value('ledger_imbalance')).toBe(0)
    // The churn really happened, and real GPU contributors (tabs, workers) did part of the job.
    expect(value('leaves')).toBeGreaterThan(0)
    expect(value('accepted_from_tabs')! + value('accepted_from_workers')!).toBeGreaterThan(0)
  }, 180_000)
})
