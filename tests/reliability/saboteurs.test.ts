import { describe, expect, it } from 'vitest'
import { runSaboteursSuite } from '../../bench/reliability/saboteurs.ts'
import { createSeededRandom } from '../../bench/reliability/seeded-random.ts'
import { runSleeperCase } from '../../bench/reliability/sleeper.ts'

/** The sleeper's row: asserted on its own below, while the defect it shows is open. */
const isSleeper = (row: { case: string }) => row.case.startsWith('sleeper:')

describe('saboteurs of every kind beside honest contributors', () => {
  it('get no wrong result accepted and earn nothing', async () => {
    const rows = await runSaboteursSuite({ long: false, log: (line) => console.log(line) })
    const wrong = rows.filter((r) => r.metric === 'wrong_accepted_per_10k' && !isSleeper(r))
    expect(wrong.length).toBeGreaterThan(0)
    for (const row of wrong) expect(row.value, row.case).toBe(0)
    for (const row of rows.filter((r) => r.metric === 'saboteur_credits'))
      expect(row.value, row.case).toBe(0)
    expect(rows.find((r) => r.metric === 'attacks_accepted')?.value).toBe(0)
    // The sabotage really reached the checks.
    expect(rows.find((r) => r.metric === 'wrong_results_submitted')?.value).toBeGreaterThan(0)
    expect(rows.find((r) => r.metric === 'sybil_address_banned')?.value).toBe(1)
    expect(rows.find((r) => r.metric === 'ledger_imbalance')?.value).toBe(0)
  }, 150_000)

  // Open defect, found by this suite: a contributor with a long verified record is accepted
  // on its credibility alone by a votes-only job (freivalds: 0), so its wrong tiles go into
  // the output until a 2 % spot check catches it (23 to 117 of 1,024 tiles in the runs
  // measured, after a 4,096-tile record); it is then banned and paid nothing, but the
  // results it got accepted stay. `it.fails` keeps CI green while it is open and turns red once it is fixed: then
  // make it a plain `it`.
  it('a sleeper with a long record gets no wrong result accepted on a votes-only job', async () => {
    const sleeper = await runSleeperCase({
      random: createSeededRandom(2),
      recordTiles: 4096,
      votedTiles: 1024,
    })
    expect(sleeper.sleeperCredits).toBe(0)
    expect(sleeper.wrongAccepted).toBe(0)
  }, 60_000)
})
