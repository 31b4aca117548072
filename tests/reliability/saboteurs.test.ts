import { describe, expect, it } from 'vitest'
import { runSaboteursSuite } from '../../bench/reliability/saboteurs.ts'

describe('saboteurs of every kind beside honest contributors', () => {
  it('get no wrong result accepted and earn nothing', async () => {
    const rows = await runSaboteursSuite({ long: false, log: (line) => console.log(line) })
    const wrong = rows.filter((r) => r.metric === 'wrong_accepted_per_10k')
    expect(wrong.length).toBeGreaterThan(0)
    for (const row of wrong) expect(row.value, row.case).toBe(0)
    for (const row of rows.filter((r) => r.metric === 'saboteur_credits'))
      expect(row.value, row.case).toBe(0)
    expect(rows.find((r) => r.metric === 'attacks_accepted')?.value).toBe(0)
    expect(rows.find((r) => r.metric === 'sybil_address_banned')?.value).toBe(1)
    expect(rows.find((r) => r.metric === 'ledger_imbalance')?.value).toBe(0)
  }, 150_000)
})
