/**
 * Credibility-based fault tolerance (Sarmenta, "Sabotage-tolerance mechanisms for volunteer
 * computing systems", 2002). A contributor's credibility is the probability that a result
 * it returns is right, given how many of its results were verified since its last fault;
 * a group of agreeing results is accepted once the probability that it is the right one
 * reaches 1 − ε. This is BOINC's adaptive replication with a number behind it: a new
 * contributor's results need several agreeing replicas, a long-verified one's need none.
 */

/**
 * Credibility of a contributor with `verified` results checked correct since its last
 * fault, when at most a fraction `f` of contributors are saboteurs: 1 − f for a newcomer,
 * then 1 − f / ((1 − f)·k·e), Sarmenta's bound for spot-checking with blacklisting.
 *
 * The bound assumes `verified` counts independent checks only: a recomputation on the
 * coordinator, a Freivalds pass, a canary answered right. Agreeing with other contributors
 * (colluders agree too) and being accepted on credibility alone are no evidence.
 */
export function credibility(verified: number, f: number): number {
  if (verified <= 0) return 1 - f
  return Math.max(1 - f, 1 - f / ((1 - f) * verified * Math.E))
}

/**
 * Probability that each group of agreeing results is the correct one, given each member's
 * credibility: the group is right and every member of every other group wrong, normalised
 * over the groups (the hypothesis that every group is wrong takes its share too).
 */
export function groupCredibility(groups: ReadonlyArray<readonly number[]>): number[] {
  const allWrong = groups.reduce((p, g) => p * g.reduce((q, c) => q * (1 - c), 1), 1)
  const weights = groups.map((g) => {
    const right = g.reduce((q, c) => q * c, 1)
    const wrongHere = g.reduce((q, c) => q * (1 - c), 1)
    return wrongHere === 0 ? Number.POSITIVE_INFINITY : (right * allWrong) / wrongHere
  })
  if (weights.some((w) => w === Number.POSITIVE_INFINITY))
    return weights.map((w) => (w === Number.POSITIVE_INFINITY ? 1 : 0))
  const total = weights.reduce((s, w) => s + w, allWrong)
  return weights.map((w) => (total === 0 ? 0 : w / total))
}

/**
 * How many agreeing newcomers (credibility 1 − f each, nobody against them) it takes to
 * reach 1 − ε: what a job that accepts on credibility pays per task until its contributors
 * have a record. At most `max`.
 */
export function newcomerQuorum(f: number, epsilon: number, max: number): number {
  for (let r = 1; r < max; r++) {
    if (groupCredibility([Array<number>(r).fill(1 - f)])[0]! >= 1 - epsilon) return r
  }
  return max
}
