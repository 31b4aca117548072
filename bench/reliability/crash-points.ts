import type { SeededRandom } from './seeded-random.ts'

/** When to SIGKILL the relay, read from what it serves. */
export interface KillPoint {
  job: number
  label: string
  /** `base`: the job's accepted count when the relay last came back (a kill point lies past it). */
  when: (
    state: { accepted: number; total: number; votesInProgress: number },
    base: number,
  ) => boolean
}

/**
 * The crash suite's kill points, drawn from `random`: early, at random points (long runs),
 * mid-job and mid-settle in the first job; mid-vote, mid-job and mid-settle in the second,
 * which votes. Each lies past where the job stood when the relay last came back.
 */
export function crashKillPoints(random: SeededRandom, long: boolean) {
  const between = (lo: number, hi: number) => lo + random.next() * (hi - lo)
  const fraction = (f: number) => (s: { accepted: number; total: number }, base: number) =>
    s.accepted >= Math.max(Math.floor(s.total * f), base + 1)
  // The last acceptance and the job's settlement run in one synchronous step, two units of
  // work that the store's group commit writes together (unless a batch fills up between
  // them), so a SIGKILL lands before or after both: this point aims at the moment the last
  // result is in flight (the log says which side it hit).
  const midSettle = (s: { accepted: number; total: number }) => s.accepted >= s.total - 1
  const extra = long ? 3 : 0
  const voteAt = between(0.1, 0.3)
  const points: KillPoint[] = [
    { job: 0, label: 'early in the job', when: fraction(between(0.05, 0.2)) },
    ...Array.from({ length: extra }, (_, i) => ({
      job: 0,
      label: 'at a random point',
      when: fraction(0.2 + ((i + random.next()) * 0.7) / extra),
    })),
    { job: 0, label: 'mid-job', when: fraction(between(0.4, 0.7)) },
    {
      job: 0,
      label: 'mid-settle (the last task: its acceptance and the final ledger settlement)',
      when: midSettle,
    },
    {
      job: 1,
      label: 'mid-vote (a replica waiting for its agreeing twin)',
      when: (s, base) => s.votesInProgress > 0 && fraction(voteAt)(s, base),
    },
    { job: 1, label: 'mid-job', when: fraction(between(0.5, 0.8)) },
    {
      job: 1,
      label: 'mid-settle (the last task and the final ledger settlement)',
      when: midSettle,
    },
  ]
  return { points, midSettle }
}

/**
 * Replicas recorded as pending (waiting for agreement) beyond the votes decided, from the
 * relay's counters since it started: above zero, some vote is open.
 */
export async function votesInProgress(relayUrl: string): Promise<number> {
  const text = await (
    await fetch(`${relayUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })
  ).text()
  const count = (result: string) =>
    Number(
      new RegExp(
        `^tabswarm_verifications_total\\{method="replication",result="${result}"\\} (\\d+)`,
        'm',
      ).exec(text)?.[1] ?? 0,
    )
  return count('pending') - count('accepted')
}
